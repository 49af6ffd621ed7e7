import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ClientsModule } from './clients/clients.module.js';
import { SignatureAuthGuard } from './signature-auth.guard.js';

/** Clients and their keys (ClientsService, NonceStore), and the signature guard on every route of the application. */
@Module({
  imports: [ClientsModule],
  providers: [{ provide: APP_GUARD, useClass: SignatureAuthGuard }],
  exports: [ClientsModule],
})
export class AuthModule {}
