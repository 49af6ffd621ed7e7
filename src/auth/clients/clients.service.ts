import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { query, queryOne } from '../../database/sql.js';
import { ApiClientEntity } from '../api-client.entity.js';
import type { RateLimitOverrides } from '../api-client.js';
import { ApiClientKeyEntity, type KeyAlgorithm } from './api-client-key.entity.js';
import { isEd25519Point } from './ed25519-public-key.js';
import { SecretBox } from './secret-box.js';
import { TtlCache } from './ttl-cache.js';

export type { KeyAlgorithm } from './api-client-key.entity.js';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['hmac-sha256', 'ed25519'];

/** Bytes of a generated HMAC key and of a webhook secret. */
const SECRET_BYTES = 32;
const WEBHOOK_SECRET_PREFIX = 'whsec_';
const RATE_LIMIT_SCOPES = ['sync', 'batch', 'polling'] as const;
const MAX_RATE_LIMIT = 100_000_000;

export type ClientsErrorCode = 'CLIENT_NOT_FOUND' | 'KEY_NOT_FOUND' | 'INVALID_ARGUMENT' | 'SECRETS_KEY_MISSING';

/** A refused operation of the clients CLI / service: unknown client or key, or a bad argument. */
export class ClientsError extends Error {
  constructor(
    readonly code: ClientsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientsError';
  }
}

/** What `create` and `rotate` hand out once; `secret` only for HMAC keys (an Ed25519 client keeps its private key). */
export interface IssuedKey {
  client_id: string;
  key_id: string;
  /** Base64 of the 32-byte HMAC key: the RFC 9421 `hmac-sha256` key is the decoded bytes. */
  secret?: string;
  /** Standard Webhooks form: `whsec_` + base64 of the key bytes. */
  webhook_secret: string;
}

export interface KeyOptions {
  /** Default: `hmac-sha256` for `create`; the newest key's algorithm for `rotate`. */
  algorithm?: KeyAlgorithm;
  /** Raw 32-byte Ed25519 public key (required with `ed25519`). */
  publicKey?: Buffer;
}

export interface RotateOptions extends KeyOptions {
  /** Seconds the client's current keys keep working; unset: until revoked. */
  overlapSeconds?: number;
}

/** What the guard needs to check a v2 signature: the key material and its client's settings. */
export interface VerificationKey {
  keyId: string;
  clientId: string;
  algorithm: KeyAlgorithm;
  /** HMAC: the key bytes (decrypted). Ed25519: the raw 32-byte public key. */
  key: Buffer;
  legacyScheme: boolean;
  rateLimits: RateLimitOverrides;
}

export interface ClientSettings {
  id: string;
  legacyScheme: boolean;
  rateLimits: RateLimitOverrides;
}

export type KeyStatus = 'active' | 'expiring' | 'expired' | 'revoked';

/** One client as `list` shows it: never a secret. */
export interface ClientListing {
  client_id: string;
  name: string;
  created_at: string;
  legacy_scheme: boolean;
  rate_limits: RateLimitOverrides;
  keys: {
    key_id: string;
    algorithm: KeyAlgorithm;
    status: KeyStatus;
    created_at: string;
    expires_at: string | null;
    revoked_at: string | null;
  }[];
}

/** How ClientsService is set up (from AppConfig in the app; built directly by the CLI). */
export class ClientsOptions {
  /** Undefined: operations that touch a secret fail with SECRETS_KEY_MISSING. */
  secretBox?: SecretBox;
  /** How long a lookup is trusted (AUTH_KEY_CACHE_MS); 0 = always read the database. */
  cacheMs: number;
  cacheEntries?: number;

  static fromConfig(config: AppConfig): ClientsOptions {
    const { secretsKey, previousSecretsKey, keyCacheMs } = config.auth;
    return { secretBox: secretsKey ? new SecretBox(secretsKey, previousSecretsKey) : undefined, cacheMs: keyCacheMs };
  }
}

interface KeyRow {
  key_id: string;
  client_id: string;
  algorithm: KeyAlgorithm;
  secret_ciphertext: Buffer | null;
  public_key: Buffer | null;
  webhook_secret_ciphertext: Buffer;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

interface ClientRow {
  id: string;
  name: string;
  created_at: Date;
  legacy_scheme: boolean;
  rate_limits: RateLimitOverrides;
}

/** The AAD of a stored secret: its row and purpose, so a ciphertext moved elsewhere does not decrypt. */
export const secretAad = (keyId: string, purpose: 'request' | 'webhook') => `${keyId}:${purpose}`;

/** The cache entries of a verification key and of a client's settings. */
const keyEntry = (keyId: string) => `key:${keyId}`;
const clientEntry = (clientId: string) => `client:${clientId}`;

/**
 * The auth module's data: API clients, their keys (encrypted at rest) and per-client settings.
 *
 * Lookups for the request path (`findVerificationKey`, `findClient`, `webhookSecrets`) are cached in memory for
 * AUTH_KEY_CACHE_MS, "not found" included, so a flood of unknown key ids does not reach the database. A revocation
 * or rotation made by the CLI (another process) therefore takes effect on every replica within AUTH_KEY_CACHE_MS;
 * one made through this instance clears its cache at once.
 */
@Injectable()
export class ClientsService {
  private readonly cache: TtlCache<VerificationKey | ClientSettings | Buffer[] | null>;

  constructor(
    @InjectRepository(ApiClientEntity) private readonly clients: Repository<ApiClientEntity>,
    @InjectRepository(ApiClientKeyEntity) private readonly keys: Repository<ApiClientKeyEntity>,
    private readonly options: ClientsOptions,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock, options.cacheMs, options.cacheEntries ?? 10_000);
  }

  /** A service over a data source of its own, outside Nest (the clients CLI): the entities stay in this module. */
  static overDataSource(dataSource: DataSource, options: ClientsOptions, clock: Clock): ClientsService {
    return new ClientsService(dataSource.getRepository(ApiClientEntity), dataSource.getRepository(ApiClientKeyEntity), options, clock);
  }

  /** Registers a client with its first key. The secrets are in the answer only: they are stored encrypted. */
  async create(name: string, options: KeyOptions = {}): Promise<IssuedKey> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) throw new ClientsError('INVALID_ARGUMENT', 'a client name is 1 to 200 characters');
    const algorithm = options.algorithm ?? 'hmac-sha256';
    const clientId = `cl_${randomBytes(10).toString('hex')}`;
    const issued = await this.clients.manager.transaction(async (manager) => {
      await manager.getRepository(ApiClientEntity).insert({ id: clientId, name: trimmed, legacyScheme: false, rateLimits: {} });
      return this.insertKey(manager, clientId, algorithm, options.publicKey);
    });
    this.cache.clear();
    return issued;
  }

  /**
   * A new key for `clientId`. Its current keys keep working until revoked or, with `overlapSeconds`, until that
   * overlap ends (an earlier expiry already set is kept).
   */
  async rotate(clientId: string, options: RotateOptions = {}): Promise<IssuedKey> {
    const overlap = options.overlapSeconds;
    if (overlap !== undefined && (!Number.isFinite(overlap) || overlap < 0)) {
      throw new ClientsError('INVALID_ARGUMENT', 'the overlap is a number of seconds, 0 or more');
    }
    const issued = await this.clients.manager.transaction(async (manager) => {
      const client = await queryOne<{ id: string }>(manager, 'SELECT id FROM api_clients WHERE id = $1 FOR UPDATE', [clientId]);
      if (!client) throw new ClientsError('CLIENT_NOT_FOUND', `no client ${JSON.stringify(clientId)}`);
      const now = this.clock.now();
      const rows = await this.keyRows(manager, clientId);
      const active = rows.filter((row) => this.isUsable(row, now));
      const algorithm = options.algorithm ?? active[0]?.algorithm ?? 'hmac-sha256';
      if (overlap !== undefined) {
        const until = new Date(now + overlap * 1000);
        for (const row of active) {
          if (row.expires_at && row.expires_at <= until) continue;
          await manager.query('UPDATE api_client_keys SET expires_at = $2 WHERE key_id = $1', [row.key_id, until]);
        }
      }
      // Strictly after the newest key, so "newest first" never ties within a millisecond.
      const newest = rows[0]?.created_at.getTime() ?? 0;
      return this.insertKey(manager, clientId, algorithm, options.publicKey, Math.max(now, newest + 1));
    });
    this.cache.clear();
    return issued;
  }

  /** Ends a key at once (every replica within AUTH_KEY_CACHE_MS). Revoking a revoked key changes nothing. */
  async revoke(keyId: string): Promise<{ key_id: string; client_id: string; revoked_at: string }> {
    const row = await queryOne<{ client_id: string; revoked_at: Date }>(
      this.keys.manager,
      'UPDATE api_client_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1 RETURNING client_id, revoked_at',
      [keyId, new Date(this.clock.now())],
    );
    if (!row) throw new ClientsError('KEY_NOT_FOUND', `no key ${JSON.stringify(keyId)}`);
    this.cache.clear();
    return { key_id: keyId, client_id: row.client_id, revoked_at: row.revoked_at.toISOString() };
  }

  /**
   * Merges per-client rate-limit overrides (requests per RATE_LIMIT_WINDOW_SECONDS) into the client's; `null`
   * removes them all, so the configured defaults apply again. Answers the overrides now in force.
   */
  async setLimits(clientId: string, overrides: RateLimitOverrides | null): Promise<RateLimitOverrides> {
    const given = overrides ?? {};
    for (const [scope, value] of Object.entries(given)) {
      if (!(RATE_LIMIT_SCOPES as readonly string[]).includes(scope)) {
        throw new ClientsError('INVALID_ARGUMENT', `unknown rate-limit scope ${JSON.stringify(scope)} (${RATE_LIMIT_SCOPES.join(', ')})`);
      }
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_RATE_LIMIT) {
        throw new ClientsError('INVALID_ARGUMENT', `the ${scope} limit is a whole number from 1 to ${MAX_RATE_LIMIT}`);
      }
    }
    const row = await queryOne<{ rate_limits: RateLimitOverrides }>(
      this.clients.manager,
      `UPDATE api_clients SET rate_limits = CASE WHEN $2 THEN '{}'::jsonb ELSE rate_limits END || $3::jsonb
        WHERE id = $1 RETURNING rate_limits`,
      [clientId, overrides === null, JSON.stringify(given)],
    );
    if (!row) throw new ClientsError('CLIENT_NOT_FOUND', `no client ${JSON.stringify(clientId)}`);
    this.cache.clear();
    return row.rate_limits;
  }

  /** Allows or refuses the seed's `X-Signature` (SHARED_KEY) for this client. */
  async setLegacy(clientId: string, on: boolean): Promise<void> {
    const changed = await query(this.clients.manager, 'UPDATE api_clients SET legacy_scheme = $2 WHERE id = $1 RETURNING id', [
      clientId,
      on,
    ]);
    if (changed.length === 0) throw new ClientsError('CLIENT_NOT_FOUND', `no client ${JSON.stringify(clientId)}`);
    this.cache.clear();
  }

  /** Every client with its keys' state, oldest client first; never a secret. */
  async list(): Promise<ClientListing[]> {
    const clients = await query<ClientRow>(
      this.clients.manager,
      'SELECT id, name, created_at, legacy_scheme, rate_limits FROM api_clients ORDER BY created_at, id',
    );
    const keys = await query<KeyRow>(
      this.keys.manager,
      'SELECT key_id, client_id, algorithm, created_at, expires_at, revoked_at FROM api_client_keys ORDER BY created_at DESC, key_id',
    );
    const now = this.clock.now();
    return clients.map((client) => ({
      client_id: client.id,
      name: client.name,
      created_at: client.created_at.toISOString(),
      legacy_scheme: client.legacy_scheme,
      rate_limits: client.rate_limits,
      keys: keys
        .filter((key) => key.client_id === client.id)
        .map((key) => ({
          key_id: key.key_id,
          algorithm: key.algorithm,
          status: this.statusOf(key, now),
          created_at: key.created_at.toISOString(),
          expires_at: key.expires_at?.toISOString() ?? null,
          revoked_at: key.revoked_at?.toISOString() ?? null,
        })),
    }));
  }

  /**
   * What `findVerificationKey` would answer from the cache, synchronously; undefined when it would ask the database.
   * The guard's hot path: a poll whose key is cached is verified without a promise.
   */
  cachedVerificationKey(keyId: string): { value: VerificationKey | null } | undefined {
    return this.cache.get(keyEntry(keyId)) as { value: VerificationKey | null } | undefined;
  }

  /** What `findClient` would answer from the cache, synchronously; undefined when it would ask the database. */
  cachedClient(clientId: string): { value: ClientSettings | null } | undefined {
    return this.cache.get(clientEntry(clientId)) as { value: ClientSettings | null } | undefined;
  }

  /**
   * The key a v2 signature names (`keyid`), with its client's settings; null when unknown, revoked or expired.
   * Hot path: cached (AUTH_KEY_CACHE_MS, never past the key's own expiry), "not found" included.
   */
  async findVerificationKey(keyId: string): Promise<VerificationKey | null> {
    const cached = this.cachedVerificationKey(keyId);
    if (cached) return cached.value;
    const cacheKey = keyEntry(keyId);
    const row = await queryOne<KeyRow & { legacy_scheme: boolean; rate_limits: RateLimitOverrides }>(
      this.keys.manager,
      `SELECT k.key_id, k.client_id, k.algorithm, k.secret_ciphertext, k.public_key, k.expires_at, k.revoked_at,
              c.legacy_scheme, c.rate_limits
         FROM api_client_keys k JOIN api_clients c ON c.id = k.client_id
        WHERE k.key_id = $1`,
      [keyId],
    );
    const now = this.clock.now();
    if (!row || !this.isUsable(row, now)) {
      this.cache.set(cacheKey, null);
      return null;
    }
    const key =
      row.algorithm === 'ed25519' ? row.public_key! : this.box().decrypt(row.secret_ciphertext!, secretAad(row.key_id, 'request'));
    const found: VerificationKey = {
      keyId: row.key_id,
      clientId: row.client_id,
      algorithm: row.algorithm,
      key,
      legacyScheme: row.legacy_scheme,
      rateLimits: row.rate_limits,
    };
    this.cache.set(cacheKey, found, row.expires_at?.getTime());
    return found;
  }

  /** A client's settings (legacy scheme allowed, rate-limit overrides); null when unknown. Cached like keys. */
  async findClient(clientId: string): Promise<ClientSettings | null> {
    const cached = this.cachedClient(clientId);
    if (cached) return cached.value;
    const cacheKey = clientEntry(clientId);
    const row = await queryOne<ClientRow>(this.clients.manager, 'SELECT id, legacy_scheme, rate_limits FROM api_clients WHERE id = $1', [
      clientId,
    ]);
    const found = row ? { id: row.id, legacyScheme: row.legacy_scheme, rateLimits: row.rate_limits } : null;
    this.cache.set(cacheKey, found);
    return found;
  }

  /**
   * The webhook signing keys of a client (decoded `whsec_` bytes) of its active keys, newest first: one, or two
   * during a rotation overlap (Standard Webhooks sends both signatures). Empty for a client without keys (the
   * default client signs its webhooks with SHARED_KEY only). Cached like keys.
   */
  async webhookSecrets(clientId: string): Promise<Buffer[]> {
    const cacheKey = `webhook:${clientId}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached.value as Buffer[];
    const now = this.clock.now();
    const active = (await this.keyRows(this.keys.manager, clientId)).filter((row) => this.isUsable(row, now));
    const secrets = active.map((row) => this.box().decrypt(row.webhook_secret_ciphertext, secretAad(row.key_id, 'webhook')));
    const soonest = Math.min(...active.map((row) => row.expires_at?.getTime() ?? Number.POSITIVE_INFINITY));
    this.cache.set(cacheKey, secrets, soonest);
    return secrets;
  }

  /** Forgets every cached lookup (tests; an operator tool in the same process). */
  clearCache(): void {
    this.cache.clear();
  }

  private async insertKey(
    manager: EntityManager,
    clientId: string,
    algorithm: KeyAlgorithm,
    publicKey: Buffer | undefined,
    createdAt = this.clock.now(),
  ): Promise<IssuedKey> {
    if (!KEY_ALGORITHMS.includes(algorithm)) {
      throw new ClientsError('INVALID_ARGUMENT', `unknown algorithm ${JSON.stringify(algorithm)} (${KEY_ALGORITHMS.join(', ')})`);
    }
    if (algorithm === 'ed25519') {
      if (!publicKey) throw new ClientsError('INVALID_ARGUMENT', 'an ed25519 key needs the public key (base64 of the raw 32 bytes)');
      if (publicKey.length !== 32) {
        throw new ClientsError('INVALID_ARGUMENT', `an Ed25519 public key is 32 bytes (raw), not ${publicKey.length}`);
      }
      if (!isEd25519Point(publicKey)) throw new ClientsError('INVALID_ARGUMENT', 'those 32 bytes are not an Ed25519 public key');
    } else if (publicKey) {
      throw new ClientsError('INVALID_ARGUMENT', 'a public key is given only with the ed25519 algorithm');
    }
    const box = this.box();
    const keyId = `key_${randomBytes(16).toString('base64url')}`;
    const secret = algorithm === 'hmac-sha256' ? randomBytes(SECRET_BYTES) : undefined;
    const webhookSecret = randomBytes(SECRET_BYTES);
    await manager.getRepository(ApiClientKeyEntity).insert({
      keyId,
      clientId,
      algorithm,
      secretCiphertext: secret ? box.encrypt(secret, secretAad(keyId, 'request')) : null,
      publicKey: algorithm === 'ed25519' ? publicKey! : null,
      webhookSecretCiphertext: box.encrypt(webhookSecret, secretAad(keyId, 'webhook')),
      createdAt: new Date(createdAt),
    });
    return {
      client_id: clientId,
      key_id: keyId,
      ...(secret ? { secret: secret.toString('base64') } : {}),
      webhook_secret: WEBHOOK_SECRET_PREFIX + webhookSecret.toString('base64'),
    };
  }

  /** A client's keys, newest first. */
  private keyRows(manager: EntityManager, clientId: string): Promise<KeyRow[]> {
    return query<KeyRow>(
      manager,
      `SELECT key_id, client_id, algorithm, secret_ciphertext, public_key, webhook_secret_ciphertext, created_at, expires_at, revoked_at
         FROM api_client_keys WHERE client_id = $1 ORDER BY created_at DESC, key_id DESC`,
      [clientId],
    );
  }

  private statusOf(row: Pick<KeyRow, 'expires_at' | 'revoked_at'>, now: number): KeyStatus {
    if (row.revoked_at) return 'revoked';
    if (row.expires_at) return row.expires_at.getTime() <= now ? 'expired' : 'expiring';
    return 'active';
  }

  private isUsable(row: Pick<KeyRow, 'expires_at' | 'revoked_at'>, now: number): boolean {
    const status = this.statusOf(row, now);
    return status === 'active' || status === 'expiring';
  }

  private box(): SecretBox {
    if (!this.options.secretBox) {
      throw new ClientsError('SECRETS_KEY_MISSING', 'CLIENT_SECRETS_KEY is not configured: client secrets cannot be read or written');
    }
    return this.options.secretBox;
  }
}
