import { HMAC_SECURITY } from '../auth/signed.decorator.js';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { SWAGGER_SIGNING_SCRIPT } from './swagger-signing.js';
import { AppConfig } from '../config/app-config.js';
import { EXAMPLE_SAMPLES_BASE } from '../samples/sample-photos.js';

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

### Signature v2 (RFC 9421 HTTP Message Signatures)
Clients with their own key sign \`@method\`, \`@path\`, \`@query\` and, with a body, \`content-digest\` (RFC 9530,
\`Content-Digest: sha-256=:<base64>:\`), in \`Signature-Input\`/\`Signature\` with the parameters \`created\` (±300 s), \`keyid\`,
a single-use \`nonce\` and optionally \`alg\` (\`hmac-sha256\` keyed with the base64-decoded secret, or \`ed25519\`).

**Trying it here:** click *Authorize* and either paste your **SHARED_KEY** (not a signature) into \`hmac\`, or enter a key id
(username) and its base64 HMAC secret (password) under \`rfc9421\`, which wins when both are filled. The page then signs each
request in your browser; the key never leaves it except as that signature.
`;

/** Name of the RFC 9421 security scheme offered next to `hmac` on every signed route. */
export const SIGNATURE_V2_SECURITY = 'rfc9421';

/** Scheme descriptions are rendered as Markdown: `<…>` outside a code span would vanish as an HTML tag. */
export const HMAC_SCHEME_DESCRIPTION = '`sha256=<hex HMAC>`; in this UI, enter SHARED_KEY and the page signs for you';
export const SIGNATURE_V2_SCHEME_DESCRIPTION =
  'RFC 9421 Signature v2 (HMAC keys in this UI): username = key id, password = the base64 secret. The page signs each request ' +
  '(`Signature-Input`, `Signature`, `Content-Digest`) and sends neither field.';

/** Every operation that accepts the seed signature also accepts Signature v2 (either requirement satisfies it). */
function offerSignatureV2(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.options, item.head, item.patch, item.trace]) {
      // A new array: the one there belongs to the route's decorator metadata, shared by every document built in the process.
      if (operation?.security?.some((requirement) => HMAC_SECURITY in requirement))
        operation.security = [...operation.security, { [SIGNATURE_V2_SECURITY]: [] }];
    }
  }
}

/**
 * operationIds for SDK generation, by `Controller.method` (`[i]` for the i-th path of a handler with aliases).
 * Stable: generated clients name their functions after them. A route missing here keeps its method name, and the
 * document test fails until it gets one.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GenerateController.generate': 'generateDescriptions',
  'JobPollingController.status[0]': 'getBatchStatus',
  'JobPollingController.status[1]': 'getJobStatus',
  'JobPollingController.results[0]': 'getBatchResults',
  'JobPollingController.results[1]': 'getJobResults',
  'JobPollingController.download': 'downloadBatchResults',
  'JobListController.list': 'listBatchJobs',
  'BatchJobsController.cancel': 'cancelBatchJob',
  'JobControlController.update': 'updateBatchJob',
  'JobControlController.pause': 'pauseBatchJob',
  'JobControlController.resume': 'resumeBatchJob',
  'JobControlController.retry': 'retryBatchJob',
  'JobControlController.delete': 'deleteBatchJob',
  'WebhookDeliveriesController.list': 'listWebhookDeliveries',
  'WebhookDeliveriesController.redeliver': 'redeliverWebhooks',
  'HealthController.check': 'getHealth',
  'HealthController.live': 'getLiveness',
  'HealthController.ready': 'getReadiness',
  'SamplesController.photo': 'getSamplePhoto',
  'OpenAiWebhooksController.receive': 'receiveOpenAiWebhook',
};

/** Global tags, in the order Swagger UI shows them. */
const TAGS: { name: string; description: string }[] = [
  { name: 'generation', description: 'Submit lots: one lot answered synchronously, 2 … 50,000 lots as a batch job' },
  { name: 'jobs', description: 'Poll, list, download and cancel jobs (answered from PostgreSQL, never by calling OpenAI)' },
  { name: 'webhooks', description: "A job's signed webhook deliveries: inspect them and re-send them" },
  { name: 'health', description: 'Public probes (status per check only; details on the management port). No signature.' },
  { name: 'openai', description: "OpenAI's own webhooks (batch finished): public, verified with OPENAI_WEBHOOK_SECRET" },
  { name: 'samples', description: 'Sample car photos for trying the API offline (served in offline mode or with SERVE_SAMPLES=true)' },
];

/** Document-level fixes Nest's generator cannot express: public operations say `security: []`, unused tags go. */
function finishDocument(document: OpenAPIObject, port: number): OpenAPIObject {
  // Request examples point at this service's sample photos, on the port it really listens on.
  document.paths = JSON.parse(
    JSON.stringify(document.paths).replaceAll(EXAMPLE_SAMPLES_BASE, EXAMPLE_SAMPLES_BASE.replace(':5000', `:${port}`)),
  ) as OpenAPIObject['paths'];
  const used = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const) {
      const operation = item[method];
      if (!operation) continue;
      if (!operation.security || operation.security.length === 0) operation.security = [];
      for (const tag of operation.tags ?? []) used.add(tag);
    }
  }
  document.tags = TAGS.filter((tag) => used.has(tag.name));
  document.info.license = { name: 'UNLICENSED' };
  return document;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Generation Service')
    .setDescription(DESCRIPTION)
    .setVersion('2.0')
    .addServer('/', 'This service (the host that served this document)')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Signature',
        description: HMAC_SCHEME_DESCRIPTION,
      },
      HMAC_SECURITY,
    )
    .addBasicAuth({ type: 'http', scheme: 'basic', description: SIGNATURE_V2_SCHEME_DESCRIPTION }, SIGNATURE_V2_SECURITY)
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => OPERATION_IDS[`${controller}.${method}`] ?? method,
  });
  offerSignatureV2(document);
  return finishDocument(document, app.get(AppConfig).port);
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
