import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The fields every log line written in a job's context carries as JSON fields
 * (not only inside the message): which request, which client, which job and
 * lot, which pipeline stage, which OpenAI batch.
 */
export interface LogFields {
  request_id?: string;
  client_id?: string;
  job_id?: string;
  lot_id?: string;
  stage?: string;
  openai_batch_id?: string;
  [field: string]: string | number | boolean | null | undefined;
}

interface LogScope {
  fields: LogFields;
  /** Read at each line: the client is known only once the signature guard has authenticated the request. */
  clientId?: () => string | undefined;
}

const storage = new AsyncLocalStorage<LogScope>();

/** Runs `fn` with `fields` added to the fields of the enclosing scope (a request's id stays on a job's lines). */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const parent = storage.getStore();
  return storage.run({ fields: { ...parent?.fields, ...defined(fields) }, clientId: parent?.clientId }, fn);
}

/** Starts a request's scope: its id, and where to read the authenticated client from. */
export function withRequestScope<T>(requestId: string, clientId: () => string | undefined, fn: () => T): T {
  return storage.run({ fields: { request_id: requestId }, clientId }, fn);
}

/**
 * The current scope, to re-enter later from a callback that runs outside it (a socket event): cheaper than
 * `AsyncResource.bind`, which builds a deprecation wrapper on every call.
 */
export function captureLogScope(): <T>(fn: () => T) => T {
  const scope = storage.getStore();
  return scope ? (fn) => storage.run(scope, fn) : (fn) => storage.exit(fn);
}

/**
 * Adds fields to the current scope from here on (an OpenAI batch id learnt
 * mid-stage); outside any scope it does nothing, so callers need not check.
 */
export function addLogFields(fields: LogFields): void {
  const scope = storage.getStore();
  if (scope) Object.assign(scope.fields, defined(fields));
}

/** Runs `fn` outside any scope (work a request only triggered, such as waking the worker, is not the request's). */
export function outsideLogScope<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The fields of the current scope (empty outside any). */
export function currentLogFields(): LogFields {
  const scope = storage.getStore();
  if (!scope) return {};
  const clientId = scope.fields.client_id ?? scope.clientId?.();
  return clientId === undefined ? { ...scope.fields } : { ...scope.fields, client_id: clientId };
}

function defined(fields: LogFields): LogFields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
