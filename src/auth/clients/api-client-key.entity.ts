import { Column, Entity, PrimaryColumn } from 'typeorm';

export type KeyAlgorithm = 'hmac-sha256' | 'ed25519';

/**
 * One signing key of a client. HMAC keys are stored encrypted (SecretBox), Ed25519 keys as the raw public key;
 * the webhook secret is always encrypted. A dump of this table signs nothing without CLIENT_SECRETS_KEY.
 */
@Entity('api_client_keys')
export class ApiClientKeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'text' })
  keyId: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId: string;

  @Column({ type: 'text' })
  algorithm: KeyAlgorithm;

  @Column({ name: 'secret_ciphertext', type: 'bytea', nullable: true })
  secretCiphertext: Buffer | null;

  /** Raw 32-byte Ed25519 public key (not secret). */
  @Column({ name: 'public_key', type: 'bytea', nullable: true })
  publicKey: Buffer | null;

  @Column({ name: 'webhook_secret_ciphertext', type: 'bytea' })
  webhookSecretCiphertext: Buffer;

  /** Set from the app's Clock: orders a client's keys (newest first), strictly increasing per client. */
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  /** End of a rotation overlap; null = until revoked. */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
