import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config.js';
import { ApiClientEntity } from '../api-client.entity.js';
import { ApiClientKeyEntity } from './api-client-key.entity.js';
import { ClientsOptions, ClientsService } from './clients.service.js';
import { NonceStore } from './nonce-store.js';
import { SignatureNonceEntity } from './signature-nonce.entity.js';

/** The owner of `api_clients`, `api_client_keys` and `signature_nonces`: clients, their keys, used nonces. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiClientEntity, ApiClientKeyEntity, SignatureNonceEntity])],
  providers: [
    { provide: ClientsOptions, inject: [AppConfig], useFactory: (config: AppConfig) => ClientsOptions.fromConfig(config) },
    ClientsService,
    NonceStore,
  ],
  exports: [ClientsService, NonceStore],
})
export class ClientsModule {}
