import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parsePriceTable, type PriceTable } from './price-table.js';
import { decodeSecretsKey, type Environment } from './environment.js';

export type AppRole = 'api' | 'worker' | 'all';
export type LogSettings = { level: 'debug' | 'info' | 'warn' | 'error'; json: boolean };

/** Log level and format; JSON lines in production so log shippers can parse job ids. */
export function logSettings(env: Pick<Environment, 'LOG_LEVEL' | 'LOG_JSON' | 'NODE_ENV'>): LogSettings {
  const level = env.LOG_LEVEL === 'WARNING' ? 'WARN' : env.LOG_LEVEL;
  return { level: level.toLowerCase() as LogSettings['level'], json: env.LOG_JSON || env.NODE_ENV === 'production' };
}

export type TracingSettings = { enabled: boolean; serviceName: string };

/** Tracing is off unless an OTLP endpoint is configured (OTEL_TRACES_EXPORTER=none turns it off even then). */
export function tracingSettings(
  env: Pick<Environment, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_TRACES_EXPORTER' | 'OTEL_SERVICE_NAME'>,
): TracingSettings {
  const enabled =
    env.OTEL_TRACES_EXPORTER === 'otlp' || (env.OTEL_TRACES_EXPORTER !== 'none' && env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined);
  return { enabled, serviceName: env.OTEL_SERVICE_NAME };
}

/** What start-up resolved outside the environment: where the database and OpenAI really are. */
export interface RuntimeEndpoints {
  databaseUrl: string;
  embeddedDatabase: boolean;
  openaiApiKey: string;
  openaiBaseUrl?: string;
  offline: boolean;
  sharedKey: string;
  sharedKeyGenerated: boolean;
  /** CLIENT_SECRETS_KEY as resolved at start-up (development: generated into DATA_DIR); default: the environment's. */
  clientSecretsKey?: Buffer;
  clientSecretsKeyGenerated?: boolean;
}

/**
 * The typed configuration every provider injects. Built once at start-up from
 * the validated environment plus what start-up resolved (embedded database,
 * offline emulator, generated development key).
 */
export class AppConfig {
  readonly env: Environment['NODE_ENV'];
  readonly port: number;
  /** Detailed health and /metrics are served here, not on `port`. */
  readonly managementPort: number;
  /** The public HTTP server: CORS policy and timeouts that bound slow clients. */
  readonly http: { corsOrigins: string[]; requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number };
  readonly role: AppRole;
  readonly runsApi: boolean;
  readonly runsWorker: boolean;
  /** Unique per process: names this instance's heartbeat row and its claims. */
  readonly instanceId: string;
  readonly database: { url: string; embedded: boolean; runMigrations: boolean };
  readonly auth: {
    sharedKey: string;
    generated: boolean;
    /** Master key of client secrets at rest (CLIENT_SECRETS_KEY); undefined only where no client keys are used (unit tests). */
    secretsKey: Buffer | undefined;
    /** CLIENT_SECRETS_KEY_PREVIOUS: still decrypts while secrets move to the new master key. */
    previousSecretsKey: Buffer | undefined;
    secretsKeyGenerated: boolean;
    /** AUTH_KEY_CACHE_MS: how long a replica trusts a looked-up key; a revocation reaches every replica within it. */
    keyCacheMs: number;
  };
  readonly openai: {
    apiKey: string;
    baseUrl?: string;
    offline: boolean;
    visionModel: string;
    translationModel: string;
    maxOutputTokens: number;
    reasoningMaxOutputTokens: number;
    imageDetail: 'auto' | 'low' | 'high';
    temperature: number;
    maxRpm: number;
    maxConcurrent: number;
    requestTimeoutMs: number;
    maxRetries: number;
    reasoningEffort: 'low' | 'medium' | 'high';
    /** USD per 1M tokens per model and the Batch API's factor (OPENAI_PRICES over the dated defaults). */
    prices: PriceTable;
    /** Delete batch files at OpenAI once ingested (OPENAI_DELETE_FILES). */
    deleteFiles: boolean;
    /** Standard Webhooks secret of OpenAI's webhooks; unset: the route answers 404. */
    webhookSecret?: string;
  };
  readonly limits: { maxBatchSize: number; syncMaxImages: number; maxLanguages: number };
  /** Sample car photos at /samples/* for a first try (SERVE_SAMPLES; default: offline mode only). */
  readonly serveSamples: boolean;
  /** Synchronous mode deadline, per-client rate limits and Idempotency-Key retention of the jobs API. */
  readonly jobs: {
    syncDeadlineMs: number;
    rateLimits: { windowMs: number; sync: number; batch: number; polling: number };
    /** `ttlMs`: how long a key and its answer are kept; `leaseMs`: how long a first attempt holds its key before another may take over. */
    idempotency: { ttlMs: number; leaseMs: number };
    /** `reuse_results` looks this far back for a matching completed lot (RESULT_REUSE_DAYS). */
    resultReuseMs: number;
    /** STATUS_CACHE_MS: longest a replica answers a job's status from memory (entries go at the job's change notification); 0: no cache. */
    statusCacheMs: number;
  };
  readonly worker: {
    pollIntervalMs: number;
    heartbeatStaleMs: number;
    /** How often the heartbeat is written and held claims renewed, independent of the tick: well inside both the staleness bound and the lease. */
    beatIntervalMs: number;
    /** SIGTERM/SIGINT: time in-flight steps get before they are aborted and their claims released. */
    shutdownGraceMs: number;
  };
  /** The batch pipeline: stage deadlines, claims, retries, reconciliation, image checks. */
  readonly pipeline: {
    visionDeadlineMs: number;
    translationDeadlineMs: number;
    claimLeaseMs: number;
    cancelGraceMs: number;
    maxSubmissions: number;
    resubmitBackoffMs: number;
    reconcileIntervalMs: number;
    imageCheckTimeoutMs: number;
    imageCheckConcurrency: number;
    /** Finished jobs older than this are deleted by the retention purge; 0: never (issue 13). */
    retentionDays: number;
    retentionPurgeIntervalMs: number;
  };
  readonly webhooks: { timeoutMs: number; maxRetries: number; retryBaseMs: number; maxBodyBytes: number };
  readonly network: { allowPrivateNetworks: boolean };
  readonly log: LogSettings;
  readonly tracing: TracingSettings;

  constructor(env: Environment, runtime: RuntimeEndpoints) {
    this.env = env.NODE_ENV;
    this.port = env.PORT;
    this.managementPort = env.MANAGEMENT_PORT;
    this.http = {
      corsOrigins: env.CORS_ORIGINS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT * 1000,
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeoutMs: Math.min(env.HTTP_HEADERS_TIMEOUT, env.HTTP_REQUEST_TIMEOUT) * 1000,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT * 1000,
    };
    this.role = env.APP_ROLE;
    this.runsApi = env.APP_ROLE !== 'worker';
    this.runsWorker = env.APP_ROLE !== 'api';
    this.instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.serveSamples = env.SERVE_SAMPLES ?? runtime.offline;
    this.database = { url: runtime.databaseUrl, embedded: runtime.embeddedDatabase, runMigrations: env.RUN_MIGRATIONS };
    this.auth = {
      sharedKey: runtime.sharedKey,
      generated: runtime.sharedKeyGenerated,
      secretsKey: runtime.clientSecretsKey ?? (env.CLIENT_SECRETS_KEY ? decodeSecretsKey(env.CLIENT_SECRETS_KEY) : undefined),
      previousSecretsKey: env.CLIENT_SECRETS_KEY_PREVIOUS ? decodeSecretsKey(env.CLIENT_SECRETS_KEY_PREVIOUS) : undefined,
      secretsKeyGenerated: runtime.clientSecretsKeyGenerated ?? false,
      keyCacheMs: env.AUTH_KEY_CACHE_MS,
    };
    this.openai = {
      apiKey: runtime.openaiApiKey,
      baseUrl: runtime.openaiBaseUrl,
      offline: runtime.offline,
      visionModel: env.OPENAI_MODEL_VISION,
      translationModel: env.OPENAI_MODEL_TRANSLATION,
      maxOutputTokens: env.OPENAI_MAX_TOKENS,
      reasoningMaxOutputTokens: env.OPENAI_REASONING_MAX_OUTPUT_TOKENS,
      imageDetail: env.OPENAI_IMAGE_DETAIL,
      temperature: env.OPENAI_TEMPERATURE,
      maxRpm: env.OPENAI_MAX_RPM,
      maxConcurrent: env.OPENAI_MAX_CONCURRENT,
      requestTimeoutMs: env.OPENAI_REQUEST_TIMEOUT * 1000,
      maxRetries: env.OPENAI_MAX_RETRIES,
      reasoningEffort: env.OPENAI_REASONING_EFFORT,
      prices: parsePriceTable(env.OPENAI_PRICES),
      deleteFiles: env.OPENAI_DELETE_FILES,
      webhookSecret: env.OPENAI_WEBHOOK_SECRET,
    };
    this.limits = { maxBatchSize: env.MAX_BATCH_SIZE, syncMaxImages: 20, maxLanguages: 10 };
    this.jobs = {
      syncDeadlineMs: env.SYNC_DEADLINE_SECONDS * 1000,
      rateLimits: {
        windowMs: env.RATE_LIMIT_WINDOW_SECONDS * 1000,
        sync: env.RATE_LIMIT_SYNC,
        batch: env.RATE_LIMIT_BATCH,
        polling: env.RATE_LIMIT_POLLING,
      },
      // The longest attempt is a synchronous generation (its deadline); the margin covers storing its result.
      idempotency: { ttlMs: env.IDEMPOTENCY_TTL_HOURS * 3_600_000, leaseMs: env.SYNC_DEADLINE_SECONDS * 1000 + 60_000 },
      resultReuseMs: env.RESULT_REUSE_DAYS * 86_400_000,
      statusCacheMs: env.STATUS_CACHE_MS,
    };
    this.worker = {
      pollIntervalMs: (env.WORKER_POLL_INTERVAL ?? (runtime.offline ? 2 : 30)) * 1000,
      heartbeatStaleMs: env.HEARTBEAT_STALE_AFTER * 1000,
      beatIntervalMs: Math.max(10, (Math.min(env.HEARTBEAT_STALE_AFTER, env.WORKER_CLAIM_LEASE) * 1000) / 4),
      shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
    };
    this.pipeline = {
      visionDeadlineMs: env.VISION_STAGE_DEADLINE * 1000,
      translationDeadlineMs: env.TRANSLATION_STAGE_DEADLINE * 1000,
      claimLeaseMs: env.WORKER_CLAIM_LEASE * 1000,
      cancelGraceMs: env.BATCH_CANCEL_GRACE * 1000,
      maxSubmissions: env.BATCH_MAX_SUBMISSIONS,
      resubmitBackoffMs: env.BATCH_RESUBMIT_BACKOFF * 1000,
      reconcileIntervalMs: env.BATCH_RECONCILE_INTERVAL * 1000,
      imageCheckTimeoutMs: env.IMAGE_CHECK_TIMEOUT * 1000,
      imageCheckConcurrency: env.IMAGE_CHECK_CONCURRENCY,
      retentionDays: env.RETENTION_DAYS,
      retentionPurgeIntervalMs: env.RETENTION_PURGE_INTERVAL * 1000,
    };
    this.webhooks = {
      timeoutMs: env.WEBHOOK_TIMEOUT * 1000,
      maxRetries: env.WEBHOOK_MAX_RETRIES,
      retryBaseMs: env.WEBHOOK_RETRY_BASE * 1000,
      maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
    };
    // Private targets are allowed by default only where everything is local anyway.
    this.network = {
      allowPrivateNetworks: env.ALLOW_PRIVATE_NETWORKS ?? (runtime.offline || env.NODE_ENV === 'test'),
    };
    this.log = logSettings(env);
    this.tracing = tracingSettings(env);
  }
}
