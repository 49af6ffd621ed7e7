import { DataSource } from 'typeorm';
import { NonceStore } from '../../../src/auth/clients/nonce-store.js';
import { dataSourceOptions } from '../../../src/database/data-source.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { ManualClock } from '../../support/manual-clock.js';
import { waitFor } from '../../support/wait.js';

let db: TestDatabase;
/** Two connection pools on one database: two replicas. */
let replicaA: DataSource;
let replicaB: DataSource;
const clock = new ManualClock();
let storeA: NonceStore;
let storeB: NonceStore;

beforeAll(async () => {
  db = await createTestDatabase();
  replicaA = await new DataSource({ ...dataSourceOptions(db.url, 'replica-a'), extra: { max: 4 } }).initialize();
  replicaB = await new DataSource({ ...dataSourceOptions(db.url, 'replica-b'), extra: { max: 4 } }).initialize();
  storeA = new NonceStore(replicaA, clock);
  storeB = new NonceStore(replicaB, clock);
});

afterAll(async () => {
  await replicaA?.destroy();
  await replicaB?.destroy();
  await db?.drop();
});

const inSeconds = (seconds: number) => new Date(clock.now() + seconds * 1000);

describe('NonceStore', () => {
  test('a nonce is new once per key: the second use is a replay, on the same replica or another', async () => {
    expect(await storeA.remember('key_a', 'nonce-1', inSeconds(600))).toBe(true);
    expect(await storeA.remember('key_a', 'nonce-1', inSeconds(600))).toBe(false);
    expect(await storeB.remember('key_a', 'nonce-1', inSeconds(600))).toBe(false);
    // Per key: another key may use the same nonce.
    expect(await storeB.remember('key_b', 'nonce-1', inSeconds(600))).toBe(true);
  });

  test('concurrent uses of one nonce on two replicas: exactly one wins', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) => (i % 2 ? storeA : storeB).remember('key_race', 'same', inSeconds(600)));
    const results = await Promise.all(attempts);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('after its expiry a nonce may be used again (purged or not), and the purge removes only expired rows', async () => {
    expect(await storeA.remember('key_exp', 'n', inSeconds(10))).toBe(true);
    expect(await storeA.remember('key_exp', 'keep', inSeconds(1000))).toBe(true);
    clock.advance(9_999);
    expect(await storeB.remember('key_exp', 'n', inSeconds(10))).toBe(false);
    clock.advance(10_001);
    // Expired but not purged yet: counts as new and takes the new expiry.
    expect(await storeB.remember('key_exp', 'n', inSeconds(10))).toBe(true);
    expect(await storeB.remember('key_exp', 'n', inSeconds(10))).toBe(false);

    clock.advance(10_000);
    const before = await db.query<{ count: string }>('SELECT count(*) FROM signature_nonces WHERE expires_at <= $1', [
      new Date(clock.now()),
    ]);
    expect(Number(before[0].count)).toBeGreaterThan(0);
    expect(await storeA.purgeExpired(1)).toBe(1);
    await storeA.purgeExpired();
    expect(await db.query('SELECT 1 FROM signature_nonces WHERE expires_at <= $1', [new Date(clock.now())])).toEqual([]);
    expect(await db.query(`SELECT nonce FROM signature_nonces WHERE key_id = 'key_exp'`)).toEqual([{ nonce: 'keep' }]);
  });

  test('remembering keeps the table bounded: every 500 new nonces, expired rows are purged in the background', async () => {
    const store = new NonceStore(replicaA, clock);
    await db.query(`INSERT INTO signature_nonces SELECT 'key_old', 'old-' || i, $1 FROM generate_series(1, 50) i`, [inSeconds(-1)]);
    for (let i = 0; i < 499; i++) await store.remember('key_bulk', `bulk-${i}`, inSeconds(600));
    expect(await db.query(`SELECT 1 FROM signature_nonces WHERE key_id = 'key_old'`)).toHaveLength(50);
    await store.remember('key_bulk', 'bulk-499', inSeconds(600));
    await waitFor(async () => (await db.query(`SELECT 1 FROM signature_nonces WHERE key_id = 'key_old'`)).length === 0, {
      what: 'the background purge',
    });
    expect(await db.query(`SELECT 1 FROM signature_nonces WHERE key_id = 'key_bulk'`)).toHaveLength(500);
  });

  test('group commit: concurrent nonces share statements, and each request still gets its own answer', async () => {
    const statements: string[] = [];
    const counting = new Proxy(replicaA, {
      get: (target, property, receiver) =>
        property === 'query'
          ? (sql: string, parameters?: unknown[]) => {
              statements.push(sql);
              return target.query(sql, parameters);
            }
          : Reflect.get(target, property, receiver),
    });
    const store = new NonceStore(counting, clock);
    expect(await storeB.remember('key_group', 'used-before', inSeconds(600))).toBe(true);
    const nonces = [...Array.from({ length: 60 }, (_, i) => `fresh-${i}`), 'fresh-7', 'fresh-7', 'used-before', 'fresh-59'];
    const answers = await Promise.all(nonces.map((nonce) => store.remember('key_group', nonce, inSeconds(600))));
    // The first use of each fresh nonce wins; its repeats in the same group and the nonce stored by another replica lose.
    expect(answers).toEqual([...Array.from({ length: 60 }, () => true), false, false, false, false]);
    expect(statements.filter((sql) => sql.includes('INSERT INTO signature_nonces')).length).toBeLessThan(nonces.length / 4);
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM signature_nonces WHERE key_id = 'key_group'`);
    expect(Number(count)).toBe(61);
  });

  test('a failed write fails every request of its group, and the next group is written', async () => {
    const broken = new NonceStore(
      new Proxy(replicaA, {
        get: (target, property, receiver) =>
          property === 'query' ? () => Promise.reject(new Error('connection lost')) : Reflect.get(target, property, receiver),
      }),
      clock,
    );
    const failed = await Promise.allSettled([
      broken.remember('key_fail', 'a', inSeconds(60)),
      broken.remember('key_fail', 'b', inSeconds(60)),
    ]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await storeA.remember('key_fail', 'a', inSeconds(60))).toBe(true);
  });

  test('an overlong nonce is refused before the database', async () => {
    await expect(storeA.remember('key_a', 'x'.repeat(257), inSeconds(10))).rejects.toThrow(RangeError);
  });
});
