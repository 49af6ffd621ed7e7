import { HMAC_SECURITY } from '../auth/signed.decorator.js';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { SWAGGER_SIGNING_SCRIPT } from './swagger-signing.js';

const DESCRIPTION = `
Turns car photos into multilingual damage descriptions with OpenAI.

**One lot** → synchronous \`200\` with descriptions. **2…50,000 lots** → \`201\` with a \`job_id\`; the job runs through the
OpenAI Batch API (vision, then translation); poll \`/api/v1/batch-status/{job_id}\` or receive a signed webhook.

### Signing requests (HMAC-SHA256, reference 002)
Every \`/api/v1\` request carries \`X-Signature: sha256=<hex HMAC-SHA256(SHARED_KEY, message)>\` where *message* is:
- \`POST /generate-descriptions\`: Python's \`json.dumps(body["lots"], separators=(',', ':'), sort_keys=True)\`
  (the signature may also travel in the body field \`signature\`);
- requests about one job: the \`job_id\`;
- \`GET /batch-jobs\`: the raw query string as sent, without \`?\` (empty string when there is none).

**Trying it here:** click *Authorize* and paste your **SHARED_KEY** (not a signature) into \`hmac\`. The page then computes
the right \`X-Signature\` for each request in your browser; the key never leaves it except as that signature.
`;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Generation Service')
    .setDescription(DESCRIPTION)
    .setVersion('2.0')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Signature',
        description: 'sha256=<hex HMAC>; in this UI, enter SHARED_KEY and the page signs for you',
      },
      HMAC_SECURITY,
    )
    .build();
  return SwaggerModule.createDocument(app, config, { operationIdFactory: (_controller, method) => method });
}

/** Where the signing helper is served: a file, not an inline script, so the CSP needs no 'unsafe-inline' for scripts. */
export const SWAGGER_SIGNING_PATH = '/docs/swagger-signing.js';

/** Swagger UI at /docs, the OpenAPI 3 document at /docs-json. */
export function setupSwagger(app: INestApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  app.getHttpAdapter().get(SWAGGER_SIGNING_PATH, (_request: unknown, response: ServerResponse) => {
    response.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    response.end(SWAGGER_SIGNING_SCRIPT);
  });
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Generation Service API',
    customJs: SWAGGER_SIGNING_PATH,
    // validatorUrl null: no badge fetched from validator.swagger.io (the CSP would block it anyway).
    swaggerOptions: { persistAuthorization: false, displayRequestDuration: true, tryItOutEnabled: true, validatorUrl: null },
  });
  return document;
}
