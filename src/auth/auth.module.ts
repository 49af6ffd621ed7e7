import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ClientsModule } from './clients/clients.module.js';
import { HmacAuthGuard } from './hmac-auth.guard.js';

/** Installs the HMAC guard on every route of the application; exports the clients' data (ClientsService, NonceStore). */
@Module({
  imports: [ClientsModule],
  providers: [{ provide: APP_GUARD, useClass: HmacAuthGuard }],
  exports: [ClientsModule],
})
export class AuthModule {}
