import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../app.module.js';
import { AppConfig } from '../config/app-config.js';
import { parseEnvironment } from '../config/environment.js';
import { buildOpenApiDocument } from './swagger.js';

/**
 * The OpenAPI document of the API role, built from the module graph in Nest's preview mode: no provider is
 * instantiated, so nothing connects to a database or OpenAI. The values below only satisfy the configuration's
 * validation; the document does not depend on them.
 */
export async function buildDocumentWithoutServices(): Promise<OpenAPIObject> {
  const env = parseEnvironment({
    NODE_ENV: 'test',
    SHARED_KEY: 'document-only-shared-key-of-32-characters',
    DATABASE_URL: 'postgres://document-only@127.0.0.1:9/none',
    OPENAI_API_KEY: 'sk-document-only',
    LOG_LEVEL: 'ERROR',
  });
  const config = new AppConfig(env, {
    databaseUrl: env.DATABASE_URL!,
    embeddedDatabase: false,
    openaiApiKey: env.OPENAI_API_KEY!,
    offline: false,
    sharedKey: env.SHARED_KEY!,
    sharedKeyGenerated: false,
  });
  const app = await NestFactory.create(AppModule.forRoot(config), { preview: true, logger: false, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
