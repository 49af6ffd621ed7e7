import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { AppConfig } from '../../../src/config/app-config.js';
import { ConfigError, decodeSecretsKey, parseEnvironment } from '../../../src/config/environment.js';
import { SecretBox, SecretBoxError } from '../../../src/auth/clients/secret-box.js';
import { ED25519_SPKI_PREFIX, isEd25519Point } from '../../../src/auth/clients/ed25519-public-key.js';
import { TtlCache } from '../../../src/auth/clients/ttl-cache.js';
import { ManualClock } from '../../support/manual-clock.js';

const master = randomBytes(32);

describe('SecretBox: AES-256-GCM, version ‖ IV ‖ tag ‖ ciphertext, AAD = row and purpose', () => {
  const box = new SecretBox(master);
  const secret = randomBytes(32);

  test('round trip; the stored form is 1 + 12 + 16 + plaintext bytes and never the plaintext', () => {
    const stored = box.encrypt(secret, 'key_a:request');
    expect(stored).toHaveLength(1 + 12 + 16 + 32);
    expect(stored[0]).toBe(1);
    expect(stored.includes(secret)).toBe(false);
    expect(box.decrypt(stored, 'key_a:request').equals(secret)).toBe(true);
  });

  test('a fresh IV each time: the same secret never encrypts to the same bytes', () => {
    expect(box.encrypt(secret, 'key_a:request').equals(box.encrypt(secret, 'key_a:request'))).toBe(false);
  });

  test.each([
    ['the version byte', 0],
    ['the IV', 5],
    ['the tag', 20],
    ['the ciphertext', 40],
  ])('a change to %s is refused', (_part, index) => {
    const stored = box.encrypt(secret, 'key_a:request');
    stored[index] ^= 0x01;
    expect(() => box.decrypt(stored, 'key_a:request')).toThrow(SecretBoxError);
  });

  test('a ciphertext moved to another row or purpose does not decrypt', () => {
    const stored = box.encrypt(secret, 'key_a:request');
    expect(() => box.decrypt(stored, 'key_b:request')).toThrow(SecretBoxError);
    expect(() => box.decrypt(stored, 'key_a:webhook')).toThrow(SecretBoxError);
  });

  test('a truncated value is refused', () => {
    expect(() => box.decrypt(box.encrypt(secret, 'k').subarray(0, 20), 'k')).toThrow(SecretBoxError);
  });

  test('another master key cannot decrypt; with the old one as previous key it can (master key rotation)', () => {
    const stored = box.encrypt(secret, 'key_a:request');
    const next = randomBytes(32);
    expect(() => new SecretBox(next).decrypt(stored, 'key_a:request')).toThrow(/wrong CLIENT_SECRETS_KEY/);
    const rotating = new SecretBox(next, master);
    expect(rotating.decrypt(stored, 'key_a:request').equals(secret)).toBe(true);
    // New writes use the new key only.
    expect(() => box.decrypt(rotating.encrypt(secret, 'key_a:request'), 'key_a:request')).toThrow(SecretBoxError);
  });

  test('a master key must be 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(SecretBoxError);
  });
});

describe('CLIENT_SECRETS_KEY configuration', () => {
  const runtime = {
    databaseUrl: 'postgres://x',
    embeddedDatabase: false,
    openaiApiKey: 'sk',
    offline: false,
    sharedKey: 'k'.repeat(32),
    sharedKeyGenerated: false,
  };
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://db/x',
    SHARED_KEY: 'k'.repeat(32),
    OPENAI_API_KEY: 'sk-x',
  };

  test('required in production, named in the error without its value', () => {
    expect(() => parseEnvironment(production)).toThrow(ConfigError);
    expect(() => parseEnvironment(production)).toThrow(/CLIENT_SECRETS_KEY must be the base64 of 32 random bytes/);
    expect(() => parseEnvironment({ ...production, CLIENT_SECRETS_KEY: master.toString('base64') })).not.toThrow();
  });

  test('anything but the base64 of 32 bytes is refused, in every environment', () => {
    for (const bad of [randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), 'not base64 at all!', 'x'.repeat(44)]) {
      expect(() => parseEnvironment({ CLIENT_SECRETS_KEY: bad })).toThrow(/CLIENT_SECRETS_KEY/);
    }
    expect(() => parseEnvironment({ CLIENT_SECRETS_KEY_PREVIOUS: 'short' })).toThrow(/CLIENT_SECRETS_KEY_PREVIOUS/);
  });

  test('decoded onto AppConfig (standard or url-safe base64), with the previous key and the cache time', () => {
    const env = parseEnvironment({
      CLIENT_SECRETS_KEY: master.toString('base64url'),
      CLIENT_SECRETS_KEY_PREVIOUS: randomBytes(32).toString('base64'),
      AUTH_KEY_CACHE_MS: '0',
    });
    const config = new AppConfig(env, runtime);
    expect(config.auth.secretsKey?.equals(master)).toBe(true);
    expect(config.auth.previousSecretsKey).toHaveLength(32);
    expect(config.auth.keyCacheMs).toBe(0);
    expect(new AppConfig(parseEnvironment({}), runtime).auth.keyCacheMs).toBe(5000);
    expect(decodeSecretsKey(master.toString('base64'))?.equals(master)).toBe(true);
    expect(decodeSecretsKey(randomBytes(24).toString('base64'))).toBeUndefined();
  });
});

describe('Ed25519 public keys', () => {
  test('every generated public key is a point; 32 bytes of 0xff (y ≥ p) and wrong lengths are not', () => {
    for (let i = 0; i < 50; i++) {
      const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
      expect(raw.subarray(0, 12).equals(ED25519_SPKI_PREFIX)).toBe(true);
      expect(isEd25519Point(raw.subarray(12))).toBe(true);
    }
    expect(isEd25519Point(Buffer.alloc(32, 0xff))).toBe(false);
    expect(isEd25519Point(Buffer.alloc(31, 1))).toBe(false);
  });

  test('about half of random 32-byte strings are not points (no root of x²), and the check finds them', () => {
    const refused = Array.from({ length: 400 }, () => randomBytes(32)).filter((raw) => !isEd25519Point(raw)).length;
    expect(refused).toBeGreaterThan(120);
    expect(refused).toBeLessThan(280);
  });
});

describe('TtlCache', () => {
  test('entries live for the TTL or until their own deadline, on the injected clock', () => {
    const clock = new ManualClock();
    const cache = new TtlCache<string | null>(clock, 1000, 10);
    cache.set('a', 'A');
    cache.set('gone', null);
    cache.set('short', 'S', clock.now() + 100);
    expect(cache.get('a')).toEqual({ value: 'A' });
    expect(cache.get('gone')).toEqual({ value: null });
    clock.advance(100);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('a')).toEqual({ value: 'A' });
    clock.advance(900);
    expect(cache.get('a')).toBeUndefined();
  });

  test('bounded: the least recently used entry goes first; a TTL of 0 keeps nothing', () => {
    const clock = new ManualClock();
    const cache = new TtlCache<number>(clock, 1000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual({ value: 1 });
    const off = new TtlCache<number>(clock, 0, 2);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
  });
});
