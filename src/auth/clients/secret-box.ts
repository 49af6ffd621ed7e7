import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
export const SECRETS_KEY_BYTES = 32;

/** Decryption failed: wrong master key, a tampered ciphertext, or one moved from another row or purpose. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * Encryption at rest of client secrets: AES-256-GCM under CLIENT_SECRETS_KEY.
 *
 * Stored form: version (1 byte) ‖ random IV (12) ‖ GCM tag (16) ‖ ciphertext. The additional authenticated data
 * names the row and the purpose (`key_x:request`, `key_x:webhook`), so a ciphertext copied into another row or
 * column fails to decrypt instead of handing one client's secret to another. A previous master key may be given
 * while secrets are re-encrypted under a new one: decryption tries the current key first, then the previous.
 */
export class SecretBox {
  private readonly keys: Buffer[];

  constructor(key: Buffer, previous?: Buffer) {
    this.keys = [key, ...(previous ? [previous] : [])];
    for (const each of this.keys) {
      if (each.length !== SECRETS_KEY_BYTES)
        throw new SecretBoxError(`a secrets key must be ${SECRETS_KEY_BYTES} bytes, not ${each.length}`);
    }
  }

  encrypt(plaintext: Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0], iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
  }

  decrypt(stored: Buffer, aad: string): Buffer {
    if (stored.length < HEADER_BYTES || stored[0] !== VERSION) throw new SecretBoxError('not a SecretBox ciphertext (version or length)');
    const iv = stored.subarray(1, 1 + IV_BYTES);
    const tag = stored.subarray(1 + IV_BYTES, HEADER_BYTES);
    const body = stored.subarray(HEADER_BYTES);
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Authentication failed under this key: try the previous one, if any.
      }
    }
    throw new SecretBoxError(`cannot decrypt the secret of ${aad}: wrong CLIENT_SECRETS_KEY, or the stored value was altered or moved`);
  }
}
