import type { LoggerService, LogLevel } from '@nestjs/common';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import { activeTraceIds } from '../tracing/tracing.js';
import { currentLogFields, type LogFields } from './log-context.js';
import { formatDevelopmentLine } from './development-format.js';
import { REDACT_PATHS, scrubSecrets } from './redaction.js';

export type AppLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AppLoggerOptions {
  level: AppLogLevel;
  /** One JSON object per line (production); otherwise one readable line per entry. */
  json: boolean;
  /** Where lines go (default: stdout, written synchronously so nothing is lost at exit). */
  destination?: DestinationStream;
  /** Exact values never to appear in a line (SHARED_KEY, OPENAI_API_KEY); secret-shaped values are scrubbed anyway. */
  secrets?: string[];
  /** Fields on every line (e.g. `role`). */
  base?: Record<string, string>;
}

/**
 * A message with fields: `logger.log({ message: 'accepted: 3 lots', job_id })`.
 * Nest's `Logger` passes the object through to the installed logger as is.
 */
export interface LogEntry extends LogFields {
  message: string;
}

type PinoLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Messages written as `job_id=… client_id=… accepted: …` (older call sites): the prefix becomes fields. */
const FIELD_PREFIX = /^((?:(?:job_id|client_id|lot_id|stage|openai_batch_id|batch_id|request_id)=[^\s:,;]+[\s:]+)+)/;
const FIELD_PAIR = /(job_id|client_id|lot_id|stage|openai_batch_id|batch_id|request_id)=([^\s:,;]+)/g;
const STACK_LINE = /\n\s+at /;

/**
 * The service's logger: pino underneath, installed as Nest's logger so every
 * `new Logger(Context)` writes through it. Each line carries the fields of
 * its scope (request id, client, job, stage, OpenAI batch — see
 * log-context.ts) and the active trace and span ids; headers and fields that
 * hold secrets are redacted by name, and secret values are scrubbed from
 * message text.
 */
export class AppLogger implements LoggerService {
  private readonly pino: Pino;
  private readonly secrets = new Set<string>();

  constructor(options: AppLoggerOptions) {
    for (const secret of options.secrets ?? []) this.addSecrets(secret);
    const destination = options.json
      ? (options.destination ?? pino.destination({ dest: 1, sync: true }))
      : developmentStream(options.destination ?? pino.destination({ dest: 1, sync: true }));
    this.pino = pino(
      {
        level: options.level,
        base: { pid: process.pid, ...options.base },
        messageKey: 'message',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      },
      destination,
    );
  }

  /** Adds exact secret values (short ones would scrub ordinary words: under 8 characters they are ignored). */
  addSecrets(...values: (string | undefined)[]): void {
    for (const value of values) if (value && value.length >= 8) this.secrets.add(value);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params, true);
  }

  /** Nest calls this with its level list; the lowest enabled level becomes pino's. */
  setLogLevels(levels: LogLevel[]): void {
    const order: [LogLevel, PinoLevel][] = [
      ['verbose', 'trace'],
      ['debug', 'debug'],
      ['log', 'info'],
      ['warn', 'warn'],
      ['error', 'error'],
      ['fatal', 'fatal'],
    ];
    const lowest = order.find(([level]) => levels.includes(level));
    this.pino.level = lowest ? lowest[1] : 'silent';
  }

  private write(level: PinoLevel, message: unknown, params: unknown[], mayHaveStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const { context, stack } = splitParams(params, mayHaveStack);
    const { text, fields, error } = entryOf(message);
    const line: Record<string, unknown> = { ...currentLogFields(), ...fields, ...activeTraceIds() };
    if (context) line.context = context;
    const trace = stack ?? error?.stack;
    if (trace) line.stack = this.scrub(trace);
    for (const [key, value] of Object.entries(line)) if (typeof value === 'string') line[key] = this.scrub(value);
    this.pino[level](line, this.scrub(text));
  }

  private scrub(text: string): string {
    return scrubSecrets(text, [...this.secrets]);
  }
}

/** Nest's calling convention: the context is the last string; `error`/`fatal` may pass a stack before it. */
function splitParams(params: unknown[], mayHaveStack: boolean): { context?: string; stack?: string } {
  const strings = params.filter((param): param is string => typeof param === 'string');
  if (params.length === 0) return {};
  if (!mayHaveStack) return { context: strings.at(-1) };
  if (params.length === 1) {
    const only = params[0];
    if (typeof only !== 'string') return {};
    return STACK_LINE.test(only) ? { stack: only } : { context: only };
  }
  const context = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
  const stack = params.slice(0, -1).find((param): param is string => typeof param === 'string');
  return { context, stack };
}

function entryOf(message: unknown): { text: string; fields: LogFields; error?: Error } {
  if (message instanceof Error) return { text: message.message, fields: {}, error: message };
  if (typeof message === 'object' && message !== null) {
    const { message: text, msg, ...fields } = message as Record<string, unknown>;
    const chosen = typeof text === 'string' ? text : typeof msg === 'string' ? msg : JSON.stringify(message);
    const parsed = parsePrefix(chosen);
    return { text: parsed.message, fields: { ...parsed.fields, ...(fields as LogFields) } };
  }
  const parsed = parsePrefix(typeof message === 'string' ? message : String(message));
  return { text: parsed.message, fields: parsed.fields };
}

/** `job_id=… client_id=… accepted: …` → fields `job_id`, `client_id` and the message `accepted: …`. */
export function parsePrefix(message: string): { message: string; fields: LogFields } {
  const prefix = FIELD_PREFIX.exec(message);
  if (!prefix) return { message, fields: {} };
  const fields: LogFields = {};
  for (const [, key, value] of prefix[1].matchAll(FIELD_PAIR)) fields[key === 'batch_id' ? 'openai_batch_id' : key] = value;
  return { message: message.slice(prefix[1].length), fields };
}

/** The development stream: each JSON line pino writes becomes one readable line. */
function developmentStream(target: DestinationStream): DestinationStream {
  return { write: (line: string) => target.write(formatDevelopmentLine(line)) };
}
