import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { ApiClientEntity } from '../../../src/auth/api-client.entity.js';
import { ApiClientKeyEntity } from '../../../src/auth/clients/api-client-key.entity.js';
import { ClientsError, ClientsService, type IssuedKey } from '../../../src/auth/clients/clients.service.js';
import { SecretBox, SecretBoxError } from '../../../src/auth/clients/secret-box.js';
import { NonceStore } from '../../../src/auth/clients/nonce-store.js';
import { DEFAULT_CLIENT_ID } from '../../../src/auth/api-client.js';
import { dataSourceOptions } from '../../../src/database/data-source.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { startTestApp, TEST_CLIENT_SECRETS_KEY } from '../../support/app.js';
import { ManualClock } from '../../support/manual-clock.js';

const master = randomBytes(32);
let db: TestDatabase;
let dataSource: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = new DataSource({ ...dataSourceOptions(db.url), extra: { max: 4 } });
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

/** A ClientsService as one replica holds it: its own cache, the shared database. */
function replica(clock: ManualClock, cacheMs = 0, box: SecretBox | null = new SecretBox(master)): ClientsService {
  return new ClientsService(
    dataSource.getRepository(ApiClientEntity),
    dataSource.getRepository(ApiClientKeyEntity),
    { secretBox: box ?? undefined, cacheMs },
    clock,
  );
}

const rawEd25519 = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
const webhookBytes = (issued: IssuedKey) => Buffer.from(issued.webhook_secret.slice('whsec_'.length), 'base64');

async function refusal(promise: Promise<unknown>): Promise<ClientsError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClientsError);
  return error as ClientsError;
}

describe('ClientsService', () => {
  test('create (hmac-sha256): ids, a 32-byte secret and a whsec_ secret, shown once; the lookup gives the decoded key', async () => {
    const clients = replica(new ManualClock());
    const issued = await clients.create('  Acme Motors ');
    expect(issued.client_id).toMatch(/^cl_[0-9a-f]{20}$/);
    expect(issued.key_id).toMatch(/^key_[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(issued.secret!, 'base64')).toHaveLength(32);
    expect(issued.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(webhookBytes(issued)).toHaveLength(32);

    const found = await clients.findVerificationKey(issued.key_id);
    expect(found).toEqual({
      keyId: issued.key_id,
      clientId: issued.client_id,
      algorithm: 'hmac-sha256',
      key: Buffer.from(issued.secret!, 'base64'),
      legacyScheme: false,
      rateLimits: {},
    });
    expect(await clients.webhookSecrets(issued.client_id)).toEqual([webhookBytes(issued)]);
    const [row] = await db.query('SELECT name, legacy_scheme FROM api_clients WHERE id = $1', [issued.client_id]);
    expect(row).toEqual({ name: 'Acme Motors', legacy_scheme: false });
  });

  test('create (ed25519): only the public key is stored, no request secret is issued; bad keys are refused', async () => {
    const clients = replica(new ManualClock());
    const publicKey = rawEd25519();
    const issued = await clients.create('Ed client', { algorithm: 'ed25519', publicKey });
    expect(issued).not.toHaveProperty('secret');
    expect(issued.webhook_secret).toMatch(/^whsec_/);
    const found = await clients.findVerificationKey(issued.key_id);
    expect(found?.algorithm).toBe('ed25519');
    expect(found?.key.equals(publicKey)).toBe(true);
    const [row] = await db.query('SELECT secret_ciphertext, public_key FROM api_client_keys WHERE key_id = $1', [issued.key_id]);
    expect(row.secret_ciphertext).toBeNull();
    expect((row.public_key as Buffer).equals(publicKey)).toBe(true);

    expect((await refusal(clients.create('x', { algorithm: 'ed25519' }))).code).toBe('INVALID_ARGUMENT');
    expect((await refusal(clients.create('x', { algorithm: 'ed25519', publicKey: publicKey.subarray(1) }))).message).toMatch(/32 bytes/);
    expect((await refusal(clients.create('x', { algorithm: 'ed25519', publicKey: Buffer.alloc(32, 0xff) }))).message).toMatch(
      /not an Ed25519 public key/,
    );
    expect((await refusal(clients.create('x', { publicKey }))).code).toBe('INVALID_ARGUMENT');
    expect((await refusal(clients.create('   '))).code).toBe('INVALID_ARGUMENT');
  });

  test('rotate with an overlap: both keys work and both webhook secrets are given (newest first) until the overlap ends', async () => {
    const clock = new ManualClock();
    const clients = replica(clock);
    const first = await clients.create('Rotating');
    const second = await clients.rotate(first.client_id, { overlapSeconds: 60 });
    expect(second.client_id).toBe(first.client_id);
    expect(second.key_id).not.toBe(first.key_id);
    expect(second.secret).not.toBe(first.secret);

    expect(await clients.findVerificationKey(first.key_id)).not.toBeNull();
    expect(await clients.findVerificationKey(second.key_id)).not.toBeNull();
    expect(await clients.webhookSecrets(first.client_id)).toEqual([webhookBytes(second), webhookBytes(first)]);

    clock.advance(59_999);
    expect(await clients.findVerificationKey(first.key_id)).not.toBeNull();
    clock.advance(1);
    expect(await clients.findVerificationKey(first.key_id)).toBeNull();
    expect(await clients.findVerificationKey(second.key_id)).not.toBeNull();
    expect(await clients.webhookSecrets(first.client_id)).toEqual([webhookBytes(second)]);
    const listed = (await clients.list()).find((client) => client.client_id === first.client_id)!;
    expect(listed.keys.map((key) => [key.key_id, key.status])).toEqual([
      [second.key_id, 'active'],
      [first.key_id, 'expired'],
    ]);
  });

  test('rotate without an overlap: the old key works until it is revoked; rotate keeps an Ed25519 client on Ed25519', async () => {
    const clock = new ManualClock();
    const clients = replica(clock);
    const first = await clients.create('Keeps old key');
    const second = await clients.rotate(first.client_id);
    clock.advance(365 * 86_400_000);
    expect(await clients.findVerificationKey(first.key_id)).not.toBeNull();
    const revoked = await clients.revoke(first.key_id);
    expect(revoked).toEqual({ key_id: first.key_id, client_id: first.client_id, revoked_at: new Date(clock.now()).toISOString() });
    expect(await clients.findVerificationKey(first.key_id)).toBeNull();
    expect(await clients.findVerificationKey(second.key_id)).not.toBeNull();

    const ed = await clients.create('Ed rotate', { algorithm: 'ed25519', publicKey: rawEd25519() });
    expect((await refusal(clients.rotate(ed.client_id))).message).toMatch(/needs the public key/);
    const next = await clients.rotate(ed.client_id, { publicKey: rawEd25519() });
    expect((await clients.findVerificationKey(next.key_id))?.algorithm).toBe('ed25519');
    const toHmac = await clients.rotate(ed.client_id, { algorithm: 'hmac-sha256' });
    expect(toHmac.secret).toBeDefined();
  });

  test('unknown client or key: a typed error', async () => {
    const clients = replica(new ManualClock());
    expect((await refusal(clients.rotate('cl_nope'))).code).toBe('CLIENT_NOT_FOUND');
    expect((await refusal(clients.revoke('key_nope'))).code).toBe('KEY_NOT_FOUND');
    expect((await refusal(clients.setLimits('cl_nope', { sync: 1 }))).code).toBe('CLIENT_NOT_FOUND');
    expect((await refusal(clients.setLegacy('cl_nope', true))).code).toBe('CLIENT_NOT_FOUND');
    expect((await refusal(clients.rotate(DEFAULT_CLIENT_ID, { overlapSeconds: -1 }))).code).toBe('INVALID_ARGUMENT');
    expect(await clients.findVerificationKey('key_nope')).toBeNull();
    expect(await clients.findClient('cl_nope')).toBeNull();
    expect(await clients.webhookSecrets('cl_nope')).toEqual([]);
  });

  test('limits: merged per scope, reset with null, validated; seen by key and client lookups', async () => {
    const clients = replica(new ManualClock());
    const issued = await clients.create('Limited');
    expect(await clients.setLimits(issued.client_id, { sync: 5 })).toEqual({ sync: 5 });
    expect(await clients.setLimits(issued.client_id, { polling: 50, sync: 7 })).toEqual({ sync: 7, polling: 50 });
    expect((await clients.findVerificationKey(issued.key_id))?.rateLimits).toEqual({ sync: 7, polling: 50 });
    expect((await clients.findClient(issued.client_id))?.rateLimits).toEqual({ sync: 7, polling: 50 });
    expect(await clients.setLimits(issued.client_id, null)).toEqual({});
    expect((await refusal(clients.setLimits(issued.client_id, { sync: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await refusal(clients.setLimits(issued.client_id, { sync: 1.5 }))).code).toBe('INVALID_ARGUMENT');
    expect((await refusal(clients.setLimits(issued.client_id, { other: 3 } as never))).code).toBe('INVALID_ARGUMENT');
  });

  test('legacy scheme: on for the default client only, switchable per client', async () => {
    const clients = replica(new ManualClock());
    expect(await clients.findClient(DEFAULT_CLIENT_ID)).toEqual({ id: DEFAULT_CLIENT_ID, legacyScheme: true, rateLimits: {} });
    const issued = await clients.create('Legacy');
    await clients.setLegacy(issued.client_id, true);
    expect((await clients.findVerificationKey(issued.key_id))?.legacyScheme).toBe(true);
    await clients.setLegacy(DEFAULT_CLIENT_ID, false);
    expect((await clients.findClient(DEFAULT_CLIENT_ID))?.legacyScheme).toBe(false);
    await clients.setLegacy(DEFAULT_CLIENT_ID, true);
  });

  test('list: every client and key state, never a secret', async () => {
    const clients = replica(new ManualClock());
    const issued = await clients.create('Listed');
    const listed = await clients.list();
    expect(listed[0].client_id).toBe(DEFAULT_CLIENT_ID);
    const mine = listed.find((client) => client.client_id === issued.client_id)!;
    expect(mine).toMatchObject({ name: 'Listed', legacy_scheme: false, rate_limits: {} });
    expect(mine.keys).toEqual([
      {
        key_id: issued.key_id,
        algorithm: 'hmac-sha256',
        status: 'active',
        created_at: expect.any(String),
        expires_at: null,
        revoked_at: null,
      },
    ]);
    const text = JSON.stringify(listed);
    expect(text).not.toContain(issued.secret);
    expect(text).not.toContain(issued.webhook_secret.slice(6));
    expect(text).not.toMatch(/ciphertext|secret"/);
  });

  test('the cache: another replica sees a revocation only after AUTH_KEY_CACHE_MS, "not found" is cached too, and never past a key expiry', async () => {
    const clock = new ManualClock();
    const operator = replica(clock);
    const cached = replica(clock, 5000);
    const issued = await operator.create('Cached');
    expect(await cached.findVerificationKey(issued.key_id)).not.toBeNull();
    await operator.revoke(issued.key_id);
    expect(await cached.findVerificationKey(issued.key_id)).not.toBeNull();
    clock.advance(5000);
    expect(await cached.findVerificationKey(issued.key_id)).toBeNull();

    // Negative result cached: a client created after a miss is seen once the miss expires.
    const rotated = await operator.create('Created later');
    await operator.setLegacy(rotated.client_id, true);
    const other = replica(clock, 5000);
    expect((await other.findClient(rotated.client_id))?.legacyScheme).toBe(true);
    await operator.setLegacy(rotated.client_id, false);
    expect((await other.findClient(rotated.client_id))?.legacyScheme).toBe(true);
    clock.advance(5000);
    expect((await other.findClient(rotated.client_id))?.legacyScheme).toBe(false);

    const longCache = replica(clock, 600_000);
    const next = await operator.rotate(rotated.client_id, { overlapSeconds: 10 });
    expect(await longCache.findVerificationKey(rotated.key_id)).not.toBeNull();
    expect(await longCache.webhookSecrets(rotated.client_id)).toHaveLength(2);
    clock.advance(10_000);
    expect(await longCache.findVerificationKey(rotated.key_id)).toBeNull();
    expect(await longCache.webhookSecrets(rotated.client_id)).toEqual([webhookBytes(next)]);

    // A replica's own change clears its cache at once.
    expect(await cached.findVerificationKey(next.key_id)).not.toBeNull();
    await cached.revoke(next.key_id);
    expect(await cached.findVerificationKey(next.key_id)).toBeNull();
  });

  test('the negative cache: an unknown key id is asked of the database once per AUTH_KEY_CACHE_MS', async () => {
    const clock = new ManualClock();
    const cached = replica(clock, 5000);
    const queries = jest.spyOn(dataSource.manager, 'query');
    try {
      for (let i = 0; i < 5; i++) expect(await cached.findVerificationKey('key_unknown')).toBeNull();
      expect(queries).toHaveBeenCalledTimes(1);
      clock.advance(5000);
      await cached.findVerificationKey('key_unknown');
      expect(queries).toHaveBeenCalledTimes(2);
    } finally {
      queries.mockRestore();
    }
  });

  test('secrets at rest: ciphertexts bound to their row, unreadable with another master key, readable during a master key rotation', async () => {
    const clients = replica(new ManualClock());
    const a = await clients.create('Row A');
    const b = await clients.create('Row B');
    const rows = await db.query<{ key_id: string; secret_ciphertext: Buffer; webhook_secret_ciphertext: Buffer }>(
      'SELECT key_id, secret_ciphertext, webhook_secret_ciphertext FROM api_client_keys WHERE key_id = ANY($1)',
      [[a.key_id, b.key_id]],
    );
    for (const row of rows) {
      expect(row.secret_ciphertext.includes(Buffer.from(a.secret!, 'base64'))).toBe(false);
      expect(row.webhook_secret_ciphertext.includes(webhookBytes(a))).toBe(false);
    }

    const wrongKey = replica(new ManualClock(), 0, new SecretBox(randomBytes(32)));
    await expect(wrongKey.findVerificationKey(a.key_id)).rejects.toThrow(SecretBoxError);
    const rotating = replica(new ManualClock(), 0, new SecretBox(randomBytes(32), master));
    expect((await rotating.findVerificationKey(a.key_id))?.key.equals(Buffer.from(a.secret!, 'base64'))).toBe(true);
    const unconfigured = replica(new ManualClock(), 0, null);
    expect((await refusal(unconfigured.findVerificationKey(a.key_id))).code).toBe('SECRETS_KEY_MISSING');

    // B's ciphertext copied into A's row (or A's webhook secret into its request secret) does not decrypt.
    await db.query(
      'UPDATE api_client_keys SET secret_ciphertext = (SELECT secret_ciphertext FROM api_client_keys WHERE key_id = $2) WHERE key_id = $1',
      [a.key_id, b.key_id],
    );
    await expect(clients.findVerificationKey(a.key_id)).rejects.toThrow(SecretBoxError);
    await db.query('UPDATE api_client_keys SET secret_ciphertext = webhook_secret_ciphertext WHERE key_id = $1', [b.key_id]);
    await expect(clients.findVerificationKey(b.key_id)).rejects.toThrow(SecretBoxError);
  });

  test('the database refuses key rows with the wrong material for their algorithm', async () => {
    const issued = await replica(new ManualClock()).create('Constraint');
    await expect(db.query(`UPDATE api_client_keys SET public_key = $2 WHERE key_id = $1`, [issued.key_id, rawEd25519()])).rejects.toThrow(
      /api_client_keys_material/,
    );
    await expect(db.query(`UPDATE api_client_keys SET algorithm = 'ed25519' WHERE key_id = $1`, [issued.key_id])).rejects.toThrow(
      /api_client_keys_material/,
    );
  });
});

describe('ClientsModule in the application', () => {
  test('ClientsService and NonceStore are injectable; the key comes from CLIENT_SECRETS_KEY', async () => {
    const app = await startTestApp({ env: { AUTH_KEY_CACHE_MS: '0' } });
    try {
      expect(app.config.auth.secretsKey?.equals(Buffer.from(TEST_CLIENT_SECRETS_KEY, 'base64'))).toBe(true);
      const clients = app.app.get(ClientsService);
      const issued = await clients.create('Through the app');
      expect((await clients.findVerificationKey(issued.key_id))?.key.equals(Buffer.from(issued.secret!, 'base64'))).toBe(true);
      expect(await app.app.get(NonceStore).remember(issued.key_id, 'n-1', new Date(Date.now() + 60_000))).toBe(true);
    } finally {
      await app.close();
    }
  });
});
