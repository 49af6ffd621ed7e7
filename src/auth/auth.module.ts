import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { HmacAuthGuard } from './hmac-auth.guard.js';

/** Installs the HMAC guard on every route of the application. */
@Module({
  providers: [{ provide: APP_GUARD, useClass: HmacAuthGuard }],
})
export class AuthModule {}
