import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A nonce an RFC 9421 signature used, kept until that signature's window ends (NonceStore). */
@Entity('signature_nonces')
export class SignatureNonceEntity {
  @PrimaryColumn({ name: 'key_id', type: 'text' })
  keyId: string;

  @PrimaryColumn({ type: 'text' })
  nonce: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
