import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import pg from 'pg';
import { startChildSpan, tracingEnabled } from '../common/tracing/tracing.js';

/** What a span may say about a statement: its operation and first table, never its text's values nor its parameters. */
export interface StatementSummary {
  /** `SELECT`, `INSERT`, `BEGIN`, … (upper case), or undefined when the text starts with no keyword. */
  operation?: string;
  /** The table after FROM / INTO / UPDATE / JOIN, without quotes or schema, when there is one. */
  collection?: string;
  /** `<operation> <collection>` (or the operation alone): the span's name. */
  summary: string;
}

const LEADING_NOISE = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()+/;
const NAME = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*\b)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*\b))?`;
/** The first table named: after INTO or UPDATE, or after FROM or JOIN unless it is a function there (`jsonb_each(…)`). */
const TARGET = new RegExp(String.raw`\b(?:(?:INTO|UPDATE)\s+(${NAME})|(?:FROM|JOIN)\s+(${NAME})(?!\s*[.(]))`, 'i');

/**
 * The summary of a SQL text (OTel `db.query.summary`): its first keyword and
 * the first table it names. Literals and parameters never reach a span, so a
 * value inlined in a statement cannot leak through tracing.
 */
export function summarizeStatement(text: string): StatementSummary {
  const body = text.replace(LEADING_NOISE, '');
  const operation = /^(?:START\s+TRANSACTION|[A-Za-z]+)/i.exec(body)?.[0].replace(/\s+/g, ' ').toUpperCase();
  if (!operation) return { summary: 'query' };
  // Strings and quoted identifiers out of the way before looking for the table (a string may say "from x").
  const found = TARGET.exec(body.replace(/'(?:[^']|'')*'/g, "''"));
  const target = found?.[1] ?? found?.[2];
  const collection = target?.split('.').pop()?.trim().replace(/^"|"$/g, '');
  return { operation, collection, summary: collection ? `${operation} ${collection}` : operation };
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
type Callback = (error: Error | null, result?: unknown) => void;

interface ConnectionParameters {
  database?: string;
  host?: string;
  port?: number;
}

const PATCHED = Symbol.for('generation-service.pg-spans');

function isSubmittable(config: unknown): boolean {
  return typeof config === 'object' && config !== null && typeof (config as { submit?: unknown }).submit === 'function';
}

function startQuerySpan(client: pg.Client, text: unknown): Span | undefined {
  if (!tracingEnabled()) return undefined;
  const { operation, collection, summary } = summarizeStatement(typeof text === 'string' ? text : '');
  const parameters = (client as unknown as { connectionParameters?: ConnectionParameters }).connectionParameters;
  const host = parameters?.host;
  return startChildSpan(
    summary,
    {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.collection.name': collection,
      'db.query.summary': summary,
      'db.namespace': parameters?.database,
      // A Unix socket directory is no address.
      'server.address': host && !host.startsWith('/') ? host : undefined,
      'server.port': parameters?.port,
    },
    SpanKind.CLIENT,
  );
}

function endQuerySpan(span: Span, error: unknown, result?: unknown): void {
  if (error) {
    // The SQLSTATE only: a message may quote a value (`invalid input syntax for type uuid: "…"`).
    const code = (error as { code?: unknown }).code;
    const sqlState = typeof code === 'string' ? code : undefined;
    span.setAttribute('error.type', sqlState ?? (error instanceof Error ? error.name : 'Error'));
    if (sqlState) span.setAttribute('db.response.status_code', sqlState);
    span.setStatus({ code: SpanStatusCode.ERROR, message: sqlState ? `SQLSTATE ${sqlState}` : undefined });
  } else {
    const rows = (result as { rowCount?: unknown } | undefined)?.rowCount;
    if (typeof rows === 'number') span.setAttribute('db.response.returned_rows', rows);
  }
  span.end();
}

/**
 * Wraps `pg.Client.prototype.query` — what TypeORM's pool, the outage probe
 * and every other client use — so that a query run inside a span gets a
 * CLIENT child span named after its summary (`SELECT batch_jobs`), ended when
 * its promise settles or its callback is called. Query objects and streams
 * (anything with `submit`) pass through untouched. Installed once, and only
 * when tracing is on: without tracing the driver is not touched at all.
 * Returns whether the driver is patched.
 */
export function instrumentPostgres(): boolean {
  const prototype = pg.Client.prototype as unknown as { query: QueryFn; [PATCHED]?: true };
  if (prototype[PATCHED]) return true;
  if (!tracingEnabled()) return false;
  const original = prototype.query;
  prototype.query = function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
    const [config] = args;
    if (isSubmittable(config)) return original.apply(this, args);
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
    const span = startQuerySpan(this, text);
    if (!span) return original.apply(this, args);

    // The callback forms: query(text, cb), query(text, values, cb), query({ text, callback }).
    const last = args.length - 1;
    if (last > 0 && typeof args[last] === 'function') {
      const callback = args[last] as Callback;
      args[last] = function (this: unknown, error: Error | null, result?: unknown) {
        endQuerySpan(span, error, result);
        return callback.call(this, error, result);
      };
      return original.apply(this, args);
    }
    if (typeof config === 'object' && config !== null && typeof (config as { callback?: unknown }).callback === 'function') {
      const callback = (config as { callback: Callback }).callback;
      args[0] = {
        ...config,
        callback(error: Error | null, result?: unknown) {
          endQuerySpan(span, error, result);
          return callback(error, result);
        },
      };
      return original.apply(this, args);
    }

    let returned: unknown;
    try {
      returned = original.apply(this, args);
    } catch (error) {
      endQuerySpan(span, error);
      throw error;
    }
    if (returned instanceof Promise) {
      return returned.then(
        (result: unknown) => {
          endQuerySpan(span, undefined, result);
          return result;
        },
        (error: unknown) => {
          endQuerySpan(span, error);
          throw error;
        },
      );
    }
    endQuerySpan(span, undefined);
    return returned;
  };
  prototype[PATCHED] = true;
  return true;
}
