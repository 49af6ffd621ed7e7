/** RFC 9421 Appendix B.2.5 (hmac-sha256) and B.2.6 (ed25519): signature base, signature and verification, byte for byte. */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signatureBase, signRequest, verifyMessageSignature, type VerificationKey } from '../../../src/auth/http-signatures/index.js';

interface Vector {
  name: string;
  label: string;
  algorithm: 'hmac-sha256' | 'ed25519';
  keyId: string;
  created: number;
  components: string[];
  signatureBase: string;
  signatureInput: string;
  signature: string;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/rfc9421-vectors.json', import.meta.url), 'utf8')) as {
  keys: { 'test-shared-secret': { base64: string }; 'test-key-ed25519': { publicKeyPem: string; privateKeyPem: string } };
  request: { method: string; url: string; authority: string; scheme: 'https'; headers: Record<string, string>; body: string };
  signatures: Vector[];
};
const request = fixture.request;
const secret = Buffer.from(fixture.keys['test-shared-secret'].base64, 'base64');
const privateKey = createPrivateKey(fixture.keys['test-key-ed25519'].privateKeyPem);
const publicKey = createPublicKey(fixture.keys['test-key-ed25519'].publicKeyPem);
const rawPublicKey = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');

const signingKey = (vector: Vector) => (vector.algorithm === 'hmac-sha256' ? secret : privateKey);
const verificationKeys = (vector: Vector): VerificationKey[] =>
  vector.algorithm === 'hmac-sha256'
    ? [{ algorithm: 'hmac-sha256', key: secret }]
    : [
        { algorithm: 'ed25519', key: publicKey },
        { algorithm: 'ed25519', key: rawPublicKey },
      ];

describe.each(fixture.signatures)('RFC 9421 $name ($algorithm)', (vector) => {
  test('the signature base is the RFC text byte for byte', () => {
    const params = vector.signatureInput.slice(vector.label.length + 1);
    const base = signatureBase(
      request,
      vector.components.map((name) => ({ name })),
      params,
    );
    expect(base).toBe(vector.signatureBase);
  });

  test('signing gives the RFC Signature-Input and Signature (Ed25519 and HMAC are deterministic)', () => {
    const headers = signRequest(
      { method: request.method, url: request.url, headers: request.headers, authority: request.authority, scheme: request.scheme },
      {
        keyId: vector.keyId,
        algorithm: vector.algorithm,
        key: signingKey(vector),
        created: vector.created,
        nonce: null,
        includeAlg: false,
        label: vector.label,
        components: vector.components,
      },
    );
    expect(headers).toEqual({ 'signature-input': vector.signatureInput, signature: vector.signature });
  });

  test('the RFC signature verifies (with a KeyObject and with raw key bytes), and fails once a covered value changes', async () => {
    for (const key of verificationKeys(vector)) {
      const lookups: string[] = [];
      const options = {
        now: vector.created,
        requiredComponents: () => [],
        requireNonce: false,
        lookupKey: (keyId: string) => {
          lookups.push(keyId);
          return Promise.resolve(key);
        },
      };
      const headers = { ...request.headers, 'signature-input': vector.signatureInput, signature: vector.signature };
      const result = await verifyMessageSignature({ ...request, headers }, options);
      expect(result).toEqual({
        ok: true,
        keyId: vector.keyId,
        nonce: '',
        created: vector.created,
        label: vector.label,
        components: vector.components,
        algorithm: vector.algorithm,
      });
      expect(lookups).toEqual([vector.keyId]);

      const tampered = await verifyMessageSignature(
        { ...request, authority: 'example.org', headers: { ...headers, host: 'example.org' } },
        options,
      );
      expect(tampered).toMatchObject({ ok: false, reason: 'invalid_signature' });
    }
  });

  test('the default profile refuses the vector (it covers neither @query nor a nonce) without looking the key up', async () => {
    let lookups = 0;
    const result = await verifyMessageSignature(
      { ...request, headers: { ...request.headers, 'signature-input': vector.signatureInput, signature: vector.signature } },
      {
        now: vector.created,
        lookupKey: () => {
          lookups++;
          return Promise.resolve(null);
        },
      },
    );
    expect(result).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringContaining('must cover') });
    expect(lookups).toBe(0);
  });
});
