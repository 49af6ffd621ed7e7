import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
  validateSync,
} from 'class-validator';

const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  return value; // left as a string so @IsBoolean reports it
};
const toNumber = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number.isNaN(Number(value)) ? value : Number(value);
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const upper = ({ value }: { value: unknown }) => (typeof value === 'string' && value !== '' ? value.toUpperCase() : undefined);

const isProduction = (env: Environment) => env.NODE_ENV === 'production';

/** Base64 (standard or url-safe) of exactly 32 bytes: 43 characters and at most one `=`. */
const SECRETS_KEY_FORMAT = /^[A-Za-z0-9+/_-]{42}[AEIMQUYcgkosw048]=?$/;

/** The 32 bytes of a CLIENT_SECRETS_KEY value; undefined when it is not the base64 of 32 bytes. */
export function decodeSecretsKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!SECRETS_KEY_FORMAT.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === 32 ? key : undefined;
}

/**
 * The process environment as the service reads it: one property per variable,
 * named exactly as the operator sets it. Validated once at start-up.
 */
export class Environment {
  @IsIn(['production', 'development', 'test'])
  NODE_ENV: 'production' | 'development' | 'test' = 'development';

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 5000;

  /** Port of the management listener (detailed health, Prometheus /metrics): for the cluster's inside only. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  MANAGEMENT_PORT = 9464;

  /** Browser origins allowed to call the API cross-origin, comma-separated (`https://app.example.com`); empty: none. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== '')
      : value,
  )
  @IsString({ each: true })
  @Matches(/^https?:\/\/[^/?#\s*]+$/, {
    each: true,
    message: 'CORS_ORIGINS must list origins such as https://app.example.com (scheme and host, optional port, no path or wildcard)',
  })
  CORS_ORIGINS: string[] = [];

  /** Seconds a client may take to send one whole request, body included (a 100 MB upload at ~1 MB/s fits). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  HTTP_REQUEST_TIMEOUT = 120;

  /** Seconds a client may take to send the request line and headers (capped at HTTP_REQUEST_TIMEOUT). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(600)
  HTTP_HEADERS_TIMEOUT = 20;

  /** Seconds an idle keep-alive connection stays open; set it above a load balancer's idle timeout (AWS ALB: 60 → 65). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  HTTP_KEEP_ALIVE_TIMEOUT = 5;

  @Transform(({ value }) => (value === '' || value === undefined ? undefined : String(value).toLowerCase()))
  @IsIn(['api', 'worker', 'all'])
  APP_ROLE: 'api' | 'worker' | 'all' = 'all';

  @Transform(emptyToUndefined)
  @ValidateIf(isProduction)
  @IsUrl(
    { protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true },
    {
      message: 'DATABASE_URL must be a postgres:// or postgresql:// URL (required when NODE_ENV=production)',
    },
  )
  DATABASE_URL?: string;

  @Transform(emptyToUndefined)
  @IsString()
  DATA_DIR = '.data';

  @Transform(toBool)
  @IsBoolean()
  RUN_MIGRATIONS = true;

  @Transform(emptyToUndefined)
  @ValidateIf((env: Environment) => isProduction(env) || env.SHARED_KEY !== undefined)
  @IsString()
  @MinLength(32, { message: 'SHARED_KEY must be at least 32 characters (required when NODE_ENV=production)' })
  SHARED_KEY?: string;

  /**
   * Master key of client secrets at rest (AES-256-GCM): base64 of 32 random bytes (`openssl rand -base64 32`).
   * Required in production; in development generated once into DATA_DIR/client-secrets.key.
   */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Environment) => isProduction(env) || env.CLIENT_SECRETS_KEY !== undefined)
  @IsString()
  @Matches(SECRETS_KEY_FORMAT, {
    message: 'CLIENT_SECRETS_KEY must be the base64 of 32 random bytes, e.g. `openssl rand -base64 32` (required when NODE_ENV=production)',
  })
  CLIENT_SECRETS_KEY?: string;

  /** The master key before a rotation of CLIENT_SECRETS_KEY: secrets it encrypted stay readable. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(SECRETS_KEY_FORMAT, { message: 'CLIENT_SECRETS_KEY_PREVIOUS must be the base64 of 32 bytes' })
  CLIENT_SECRETS_KEY_PREVIOUS?: string;

  /**
   * Milliseconds a replica keeps a looked-up client key (and "no such key") in memory: a revocation or rotation
   * made by the CLI takes effect on every replica within this time. 0 disables the cache.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(3600000)
  AUTH_KEY_CACHE_MS = 5000;

  /**
   * Milliseconds an API process may answer `GET /batch-status` for a job from memory. Entries are dropped as soon
   * as PostgreSQL notifies a change of the job (any replica, the worker, SQL by hand), so this is only a safety net
   * for a lost notification; while the listener is disconnected every request reads the database. 0 disables the cache.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(3600000)
  STATUS_CACHE_MS = 5000;

  @Transform(emptyToUndefined)
  @ValidateIf(isProduction)
  @IsString({ message: 'OPENAI_API_KEY is required when NODE_ENV=production (offline mode is for development only)' })
  OPENAI_API_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  OPENAI_BASE_URL?: string;

  @Transform(upper)
  @IsIn(['DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR'])
  LOG_LEVEL = 'INFO';

  @Transform(toBool)
  @IsBoolean()
  LOG_JSON = false;

  /** OpenTelemetry: traces are exported (OTLP/HTTP) only when this is set, or OTEL_TRACES_EXPORTER=otlp. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @IsOptional()
  @IsIn(['otlp', 'none'])
  OTEL_TRACES_EXPORTER?: 'otlp' | 'none';

  @IsString()
  @MinLength(1)
  OTEL_SERVICE_NAME = 'generation-service';

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(50000)
  MAX_BATCH_SIZE = 50000;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(300)
  WEBHOOK_TIMEOUT = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(20)
  WEBHOOK_MAX_RETRIES = 5;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  WEBHOOK_RETRY_BASE = 30;

  /** Largest webhook body in bytes; a bigger result is split into numbered parts (`part`/`parts`), never dropped. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(104857600)
  WEBHOOK_MAX_BODY_BYTES = 10485760;

  /** Seconds between worker ticks; unset: 30 (reference 002), or 2 in offline mode so a newcomer sees jobs move. */
  @Transform(toNumber)
  @IsOptional()
  @IsNumber()
  @Min(0.001)
  @Max(3600)
  WORKER_POLL_INTERVAL?: number;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  HEARTBEAT_STALE_AFTER = 120;

  /** Seconds the vision stage may take (submit + OpenAI's 24 h window + margin) before its batch is cancelled and the rest finished directly. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(604800)
  VISION_STAGE_DEADLINE = 93600;

  /** Seconds the translation stage may take before its batch is cancelled and the rest finished directly (reference 003). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(604800)
  TRANSLATION_STAGE_DEADLINE = 7200;

  /** Seconds a worker holds a claimed job; another replica may take it over after that (crash recovery). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  WORKER_CLAIM_LEASE = 600;

  /**
   * Seconds a stopping worker (SIGTERM/SIGINT) gives its in-flight steps before it aborts them and hands
   * their claims back; keep it well under Kubernetes' terminationGracePeriodSeconds (30 s by default).
   */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  SHUTDOWN_GRACE_SECONDS = 20;

  /** Seconds to wait for a batch we cancelled to reach `cancelled` (and its partial output) before giving up on it. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(86400)
  BATCH_CANCEL_GRACE = 600;

  /** Batches submitted per stage at most (a `token_limit_exceeded` failure is retried as a new batch); then direct calls. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(20)
  BATCH_MAX_SUBMISSIONS = 3;

  /** Seconds before re-submitting a batch that failed with `token_limit_exceeded`; doubles on each retry. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(86400)
  BATCH_RESUBMIT_BACKOFF = 300;

  /** Seconds between reconciliation sweeps (re-attach batches whose id never reached the database, reference 001). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  BATCH_RECONCILE_INTERVAL = 300;

  /** Days a finished job is kept before the worker's retention purge deletes it (and its files at OpenAI); 0 keeps jobs forever. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(36500)
  RETENTION_DAYS = 90;

  /** Seconds between two retention purges of one worker. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  RETENTION_PURGE_INTERVAL = 3600;

  /** Seconds one image URL check may take. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(300)
  IMAGE_CHECK_TIMEOUT = 10;

  /** Image URLs checked at once by one worker. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(512)
  IMAGE_CHECK_CONCURRENCY = 32;

  @Transform(emptyToUndefined)
  @IsString()
  OPENAI_MODEL_VISION = 'o4-mini';

  @Transform(emptyToUndefined)
  @IsString()
  OPENAI_MODEL_TRANSLATION = 'gpt-4.1-mini';

  /** `max_output_tokens` of non-reasoning models (per language for translations). */
  @Transform(toNumber)
  @IsInt()
  @Min(16)
  @Max(200000)
  OPENAI_MAX_TOKENS = 4000;

  /**
   * `max_output_tokens` of reasoning models (o-series, gpt-5*): reasoning tokens count against it, so
   * OpenAI's reasoning guide recommends reserving at least 25,000. A cap, not a charge.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(16)
  @Max(200000)
  OPENAI_REASONING_MAX_OUTPUT_TOKENS = 25000;

  /** `detail` of every `input_image` part: `low` ≈ 85 tokens per image, `high` tiles the image, `auto` lets the model choose. */
  @Transform(emptyToUndefined)
  @IsIn(['auto', 'low', 'high'])
  OPENAI_IMAGE_DETAIL: 'auto' | 'low' | 'high' = 'auto';

  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(2)
  OPENAI_TEMPERATURE = 0.1;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000000)
  OPENAI_MAX_RPM = 500;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  OPENAI_MAX_CONCURRENT = 8;

  /** Seconds one direct Responses call (one attempt) may take before it is abandoned and retried. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(3600)
  OPENAI_REQUEST_TIMEOUT = 120;

  /** Retries after the first attempt for transient OpenAI errors (429, 5xx, timeouts, connection errors). */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10)
  OPENAI_MAX_RETRIES = 4;

  /**
   * The price table (issue 13), JSON: `{"date": "YYYY-MM-DD", "batch_factor": 0.5, "models": {"o4-mini":
   * {"input": 1.1, "cached_input": 0.275, "output": 4.4}}}` in USD per 1M tokens; models given override the
   * built-in defaults (src/common/pricing/price-table.ts, dated — check them against openai.com/api/pricing).
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  OPENAI_PRICES?: string;

  /** Delete a batch's input, output and error files at OpenAI once its results are stored. */
  @Transform(toBool)
  @IsBoolean()
  OPENAI_DELETE_FILES = true;

  /** How far back `reuse_results` looks for a completed lot with the same images, text, languages and models. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3650)
  RESULT_REUSE_DAYS = 30;

  /** Secret of OpenAI's webhooks (`whsec_…`): enables `POST /openai/webhooks`, which wakes the worker for a finished batch. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  OPENAI_WEBHOOK_SECRET?: string;

  /** `reasoning.effort` sent to reasoning models (o-series, gpt-5*); never sent to other models. */
  @Transform(emptyToUndefined)
  @IsIn(['low', 'medium', 'high'])
  OPENAI_REASONING_EFFORT: 'low' | 'medium' | 'high' = 'medium';

  @Transform(toBool)
  @IsOptional()
  @IsBoolean()
  ALLOW_PRIVATE_NETWORKS?: boolean;

  /** Serve the sample car photos at /samples/* (default: in offline mode only). */
  @Transform(toBool)
  @IsOptional()
  @IsBoolean()
  SERVE_SAMPLES?: boolean;

  /** Hard deadline of a synchronous (one-lot) request in seconds; past it the answer is 504 OPENAI_TIMEOUT. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(3600)
  SYNC_DEADLINE_SECONDS = 300;

  /** Requests per client per RATE_LIMIT_WINDOW_SECONDS (reference 002: sync 100, batch creation 10, polling 1000 per minute). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100000000)
  RATE_LIMIT_SYNC = 100;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100000000)
  RATE_LIMIT_BATCH = 10;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100000000)
  RATE_LIMIT_POLLING = 1000;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.001)
  @Max(86400)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /** Hours an Idempotency-Key (and the answer it replays) is kept per client; later the key counts as new. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.01)
  @Max(720)
  IDEMPOTENCY_TTL_HOURS = 24;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  EMULATOR_PORT = 5050;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(86400000)
  EMULATOR_BATCH_DURATION_MS = 5000;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment; throws one ConfigError listing every problem. */
export function parseEnvironment(source: Record<string, string | undefined>): Environment {
  // Every variable is copied; `whitelist` below drops the ones the service does not declare (PATH, HOME, ...).
  // An empty variable counts as unset, so `APP_ROLE=` gets the default like a missing one.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const env = plainToInstance(Environment, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: true, forbidUnknownValues: false });
  const crossChecks: string[] = [];
  // Port 0 means "any free port" (tests): two zeros never collide.
  if (errors.length === 0 && env.MANAGEMENT_PORT !== 0 && env.MANAGEMENT_PORT === env.PORT) {
    crossChecks.push(`MANAGEMENT_PORT must differ from PORT (both ${env.PORT}): the management port is for the cluster's inside only`);
  }
  if (errors.length > 0 || crossChecks.length > 0) {
    const problems = errors.flatMap((error) => {
      const shown = error.property.includes('KEY') ? '<hidden>' : JSON.stringify(error.value);
      return Object.values(error.constraints ?? {}).map((message) =>
        message.startsWith(error.property) ? `${message} (got ${shown})` : `${error.property}: ${message} (got ${shown})`,
      );
    });
    throw new ConfigError([...problems, ...crossChecks]);
  }
  return env;
}
