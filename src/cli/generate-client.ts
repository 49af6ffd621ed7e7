/**
 * `npm run client:generate`: writes src/client/generated/openapi.d.ts from the OpenAPI document the app serves at
 * /docs-json. The document is built by Nest in preview mode (the module graph without instantiating providers), so
 * no database, OpenAI key or port is needed.
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_TYPES_PATH, renderClientTypes } from '../client/client-types.js';
import { buildDocumentWithoutServices } from '../bootstrap/offline-document.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const document = await buildDocumentWithoutServices();
// `--print-document`: the document on stdout instead (the drift test compares it with the served /docs-json).
if (process.argv.includes('--print-document')) {
  process.stdout.write(JSON.stringify(document));
  process.exit(0);
}
const target = resolve(ROOT, GENERATED_TYPES_PATH);
await writeFile(target, await renderClientTypes(document));
process.stdout.write(`wrote ${GENERATED_TYPES_PATH} (${Object.keys(document.paths).length} paths)\n`);
