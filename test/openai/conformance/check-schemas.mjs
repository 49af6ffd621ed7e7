#!/usr/bin/env node
// Compares the hand-transcribed schemas in schemas/openai-requests.schema.json with OpenAI's published
// OpenAPI document, component by component (each vendored $def names its component in `x-openapi`):
// property names (allOf flattened), required properties, and enum values of the properties both define.
// The document is read from a local path, never vendored:
//
//   git clone https://github.com/openai/openai-openapi && git -C openai-openapi checkout <commit>
//   node test/openai/conformance/check-schemas.mjs openai-openapi/openapi.json
//
// Exit code 1 and a list of differences when the vendored schemas have drifted; update them by hand
// (and the commit noted in their $comment and README.md), then run the conformance spec with
// OPENAI_OPENAPI_JSON=<that path> to validate every captured request against the document itself.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const specPath = process.argv[2];
if (!specPath) {
  console.error('usage: node check-schemas.mjs <path to openai-openapi/openapi.json>');
  process.exit(2);
}
const published = JSON.parse(readFileSync(specPath, 'utf8')).components.schemas;
const vendored = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'schemas', 'openai-requests.schema.json'), 'utf8'),
).$defs;

/** Follows $ref/allOf/anyOf-with-null to the object's properties and required names. */
function flatten(schema, seen = new Set()) {
  const out = { properties: {}, required: new Set() };
  const walk = (node) => {
    if (!node || typeof node !== 'object') return;
    if (node.$ref) {
      const name = node.$ref.split('/').pop();
      if (seen.has(name)) return;
      seen.add(name);
      walk(published[name] ?? vendored[name]);
      return;
    }
    for (const part of node.allOf ?? []) walk(part);
    Object.assign(out.properties, node.properties ?? {});
    for (const name of node.required ?? []) out.required.add(name);
  };
  walk(schema);
  return out;
}

/** Enum values of a property schema, through $ref/anyOf/oneOf; const counts as a one-value enum. */
function enumOf(node, defs, seen = new Set()) {
  if (!node || typeof node !== 'object') return null;
  if (node.$ref) {
    const name = node.$ref.split('/').pop();
    if (seen.has(name)) return null;
    seen.add(name);
    return enumOf(defs[name], defs, seen);
  }
  if (Array.isArray(node.enum)) return node.enum.filter((v) => v !== null);
  if ('const' in node) return [node.const];
  for (const key of ['anyOf', 'oneOf']) {
    for (const part of node[key] ?? []) {
      const found = enumOf(part, defs, seen);
      if (found) return found;
    }
  }
  return null;
}

const problems = [];
let compared = 0;
for (const [name, def] of Object.entries(vendored)) {
  const ref = def['x-openapi'];
  if (!ref) continue;
  const component = ref.split('/').pop();
  const theirs = published[component];
  if (!theirs) {
    problems.push(`${name}: ${component} is not in the published document`);
    continue;
  }
  compared++;
  if (!def.properties) continue; // unions (InputContent, TextResponseFormatConfiguration) and Metadata: their members are compared
  const mine = flatten(def);
  const them = flatten(theirs);
  const missing = Object.keys(them.properties).filter((p) => !(p in mine.properties));
  const extra = Object.keys(mine.properties).filter((p) => !(p in them.properties));
  if (missing.length)
    problems.push(`${name}: published properties missing here (requests using them would be refused): ${missing.join(', ')}`);
  if (extra.length) problems.push(`${name}: properties here that the published document does not define: ${extra.join(', ')}`);
  const requiredDiff = [...new Set([...mine.required, ...them.required])].filter((p) => mine.required.has(p) !== them.required.has(p));
  if (requiredDiff.length) problems.push(`${name}: required differs for: ${requiredDiff.join(', ')}`);
  for (const property of Object.keys(mine.properties)) {
    const a = enumOf(mine.properties[property], vendored);
    const b = enumOf(them.properties[property], published);
    if (a && b && JSON.stringify([...a].sort()) !== JSON.stringify([...b].sort())) {
      problems.push(`${name}.${property}: enum ${JSON.stringify(a)} here, ${JSON.stringify(b)} published`);
    }
  }
}

if (problems.length) {
  console.log(`${problems.length} difference(s) from ${specPath}:`);
  for (const problem of problems) console.log(`- ${problem}`);
  process.exit(1);
}
console.log(`${compared} vendored schemas match ${specPath} (property names, required, enums).`);
