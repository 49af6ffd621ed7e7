import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clients of their own (issue 11): per-client keys, the seed scheme as a
 * per-client switch, per-client rate-limit overrides, and the nonces of
 * RFC 9421 signatures.
 *
 * - `api_clients.legacy_scheme`: whether the seed's `X-Signature` (SHARED_KEY)
 *   may authenticate as this client; only `default` has it.
 * - `api_client_keys`: a client's request keys. HMAC keys are stored encrypted
 *   (AES-256-GCM, CLIENT_SECRETS_KEY), Ed25519 keys as the raw public key only;
 *   every key carries its client's webhook secret, encrypted. `expires_at`
 *   ends a rotation overlap, `revoked_at` ends the key at once.
 * - `signature_nonces`: nonces seen per key until the signature's window ends,
 *   so a replay is refused by every replica.
 */
export class ApiClientKeys1763790500000 implements MigrationInterface {
  name = 'ApiClientKeys1763790500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE api_clients
        ADD COLUMN legacy_scheme boolean NOT NULL DEFAULT false,
        ADD COLUMN rate_limits   jsonb   NOT NULL DEFAULT '{}'::jsonb
          CHECK (jsonb_typeof(rate_limits) = 'object')`);
    await db.query(`UPDATE api_clients SET legacy_scheme = true WHERE id = 'default'`);

    await db.query(`
      CREATE TABLE api_client_keys (
        key_id                     text PRIMARY KEY,
        client_id                  text NOT NULL REFERENCES api_clients(id),
        algorithm                  text NOT NULL CHECK (algorithm IN ('hmac-sha256', 'ed25519')),
        secret_ciphertext          bytea,
        public_key                 bytea,
        webhook_secret_ciphertext  bytea NOT NULL,
        created_at                 timestamptz NOT NULL DEFAULT now(),
        expires_at                 timestamptz,
        revoked_at                 timestamptz,
        CONSTRAINT api_client_keys_material CHECK (
          (algorithm = 'hmac-sha256' AND secret_ciphertext IS NOT NULL AND public_key IS NULL)
          OR (algorithm = 'ed25519' AND public_key IS NOT NULL AND octet_length(public_key) = 32 AND secret_ciphertext IS NULL)
        )
      )`);
    await db.query(`CREATE INDEX api_client_keys_client_id ON api_client_keys (client_id, created_at DESC)`);

    await db.query(`
      CREATE TABLE signature_nonces (
        key_id      text NOT NULL,
        nonce       text NOT NULL,
        expires_at  timestamptz NOT NULL,
        PRIMARY KEY (key_id, nonce)
      )`);
    await db.query(`CREATE INDEX signature_nonces_expires_at ON signature_nonces (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS signature_nonces`);
    await db.query(`DROP TABLE IF EXISTS api_client_keys`);
    await db.query(`ALTER TABLE api_clients DROP COLUMN IF EXISTS rate_limits, DROP COLUMN IF EXISTS legacy_scheme`);
  }
}
