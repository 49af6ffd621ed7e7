import { isLanguageCode, translateHtml } from './text-generator.js';

/**
 * Structured outputs: builds a value that satisfies a `json_schema` text
 * format. Covers what Structured Outputs allows in strict mode (objects,
 * arrays, scalars, enums, const, anyOf, nullable type unions, local `$ref`s).
 */
export interface FillContext {
  /** The damage description: the value of every ordinary string property. */
  description: string;
  /** The HTML to "translate" into every language-code property. */
  sourceHtml: string;
}

type Schema = Record<string, unknown>;

const isList = (value: unknown): value is unknown[] => Array.isArray(value);

export function fillSchema(schema: unknown, context: FillContext): unknown {
  const root = isSchema(schema) ? schema : {};
  return fill(root, root, context, undefined, 0);
}

function fill(schema: Schema, root: Schema, context: FillContext, propertyName: string | undefined, depth: number): unknown {
  if (depth > 16) return null; // recursive schemas: stop where a strict schema would allow null/empty
  const resolved = resolveRef(schema, root);
  if ('const' in resolved) return resolved.const;
  if (Array.isArray(resolved.enum) && resolved.enum.length > 0) return resolved.enum[0];
  const alternatives = resolved.anyOf ?? resolved.oneOf;
  if (isList(alternatives) && alternatives.length > 0) {
    const first = alternatives.find((alt) => isSchema(alt) && alt.type !== 'null') ?? alternatives[0];
    return fill(isSchema(first) ? first : {}, root, context, propertyName, depth + 1);
  }
  const type = isList(resolved.type) ? resolved.type.find((t) => t !== 'null') : resolved.type;
  switch (type) {
    case 'object': {
      const properties = isSchema(resolved.properties) ? resolved.properties : {};
      const value: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(properties)) {
        value[name] = fill(isSchema(child) ? child : {}, root, context, name, depth + 1);
      }
      return value;
    }
    case 'array': {
      const items = isSchema(resolved.items) ? resolved.items : {};
      const min = typeof resolved.minItems === 'number' ? resolved.minItems : 1;
      return Array.from({ length: Math.max(1, min) }, () => fill(items, root, context, undefined, depth + 1));
    }
    case 'integer':
    case 'number':
      return typeof resolved.minimum === 'number' ? resolved.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
    default:
      if (propertyName !== undefined && isLanguageCode(propertyName)) return translateHtml(context.sourceHtml, propertyName);
      return context.description;
  }
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let target: unknown = root;
  for (const segment of ref.slice(2).split('/')) {
    target = isSchema(target) ? target[segment] : undefined;
  }
  return isSchema(target) ? target : {};
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
