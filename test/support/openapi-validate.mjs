// Validates an OpenAPI document read from stdin with @apidevtools/swagger-parser.
// Run as a child process: the validator is ESM-only and Jest (on Node 20) cannot load it from its CommonJS entry.
import SwaggerParser from '@apidevtools/swagger-parser';

let input = '';
for await (const chunk of process.stdin) input += chunk;
try {
  await SwaggerParser.validate(JSON.parse(input));
  process.stdout.write('valid\n');
} catch (error) {
  process.stdout.write(`invalid: ${error.message}\n`);
  process.exitCode = 1;
}
