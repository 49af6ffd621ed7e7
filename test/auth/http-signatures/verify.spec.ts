/** The "Signature v2" profile (SPEC §4): what the verifier accepts and each reason it refuses. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  ACCEPT_SIGNATURE,
  MAX_SIGNATURE_FIELD_LENGTH,
  signRequest,
  verifyMessageSignature,
  type SignRequestOptions,
  type SignedRequestView,
  type VerificationKey,
  type VerifyMessageSignatureOptions,
} from '../../../src/auth/http-signatures/index.js';

const NOW = 1_800_000_000;
const SECRET = Buffer.from('c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==', 'base64');
const ed = generateKeyPairSync('ed25519');
const KEYS: Record<string, VerificationKey> = {
  'client-hmac': { algorithm: 'hmac-sha256', key: SECRET },
  'client-ed': { algorithm: 'ed25519', key: ed.publicKey },
};
const sha256 = (body: string) => createHash('sha256').update(body).digest();

interface Call {
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string | string[]>;
}

function hmacOptions(overrides: Partial<SignRequestOptions> = {}): SignRequestOptions {
  return { keyId: 'client-hmac', algorithm: 'hmac-sha256', key: SECRET, created: NOW, ...overrides };
}

/** Signs `call` and returns the request view the server would see. */
function signed(call: Call, options: SignRequestOptions = hmacOptions()): SignedRequestView {
  const headers: Record<string, string | string[]> = { host: 'api.example.com', ...call.headers };
  if (call.body !== undefined) headers['content-length'] = String(Buffer.byteLength(call.body));
  const signature = signRequest({ method: call.method, url: call.url, headers, body: call.body, scheme: 'https' }, options);
  return { method: call.method, url: call.url, scheme: 'https', headers: { ...headers, ...signature } };
}

function verify(view: SignedRequestView, options: Partial<VerifyMessageSignatureOptions> & { body?: string } = {}) {
  const lookups: string[] = [];
  const { body, ...rest } = options;
  const result = verifyMessageSignature(view, {
    now: NOW,
    bodyDigest: body === undefined ? null : sha256(body),
    lookupKey: (keyId) => {
      lookups.push(keyId);
      return Promise.resolve(KEYS[keyId] ?? null);
    },
    ...rest,
  });
  return { result, lookups };
}

const POLL: Call = { method: 'GET', url: '/api/v1/batch-status/550e8400-e29b-41d4-a716-446655440000' };
const LIST: Call = { method: 'GET', url: '/api/v1/batch-jobs?status=completed&limit=5' };
const BODY = '{"version":"1.0.0","languages":["en"],"lots":[]}';
const GENERATE: Call = {
  method: 'POST',
  url: '/api/v1/generate-descriptions',
  body: BODY,
  headers: { 'content-type': 'application/json' },
};

describe('accepted', () => {
  test('a polling request signed with HMAC: key id, nonce, created, label, components and algorithm come back', async () => {
    const { result, lookups } = verify(signed(POLL, hmacOptions({ nonce: 'n-1' })));
    expect(await result).toEqual({
      ok: true,
      keyId: 'client-hmac',
      nonce: 'n-1',
      created: NOW,
      label: 'sig1',
      components: ['@method', '@path', '@query'],
      algorithm: 'hmac-sha256',
    });
    expect(lookups).toEqual(['client-hmac']);
  });

  test('a body request signed with Ed25519 covers content-digest; the query is covered as sent', async () => {
    const view = signed(GENERATE, { keyId: 'client-ed', algorithm: 'ed25519', key: ed.privateKey, created: NOW, expires: NOW + 60 });
    expect(view.headers['content-digest']).toBe(`sha-256=:${sha256(BODY).toString('base64')}:`);
    expect(await verify(view, { body: BODY }).result).toMatchObject({
      ok: true,
      algorithm: 'ed25519',
      expires: NOW + 60,
      components: ['@method', '@path', '@query', 'content-digest'],
    });
    expect(await verify(signed(LIST), {}).result).toMatchObject({ ok: true });
  });

  test('nonces are fresh by default', () => {
    const nonce = (view: SignedRequestView) => /;nonce="([^"]+)"/.exec(String(view.headers['signature-input']))![1];
    expect(nonce(signed(POLL))).not.toBe(nonce(signed(POLL)));
  });

  test('other derived components and repeated header lines (RFC 9421 §2.1: joined with ", ")', async () => {
    const call: Call = { ...LIST, headers: { 'x-trace': ['a', ' b '], 'content-type': 'application/json' } };
    const components = [
      '@method',
      '@path',
      '@query',
      '@target-uri',
      '@authority',
      '@scheme',
      '@request-target',
      '"@query-param";name="limit"',
      'x-trace',
    ];
    const view = signed(call, hmacOptions({ components }));
    const signedView = { ...view, headers: { ...view.headers } };
    const result = await verify(signedView, {}).result;
    expect(result).toMatchObject({ ok: true, components: [...components.slice(0, 7), '@query-param;name="limit"', 'x-trace'] });
    // The same header sent as one line verifies the same way.
    expect(await verify({ ...view, headers: { ...view.headers, 'x-trace': 'a, b' } }).result).toMatchObject({ ok: true });
    expect(await verify({ ...view, headers: { ...view.headers, 'x-trace': 'a,b' } }).result).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
    expect(await verify({ ...view, url: '/api/v1/batch-jobs?status=completed&limit=6' }).result).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  test('with several labels, the first that satisfies the profile is checked, or the one the caller names', async () => {
    const partial = signed(POLL, hmacOptions({ label: 'a', components: ['@method'] }));
    const full = signed(POLL, hmacOptions({ label: 'b' }));
    const both = {
      ...full,
      headers: {
        ...full.headers,
        'signature-input': `${String(partial.headers['signature-input'])}, ${String(full.headers['signature-input'])}`,
        signature: `${String(partial.headers.signature)}, ${String(full.headers.signature)}`,
      },
    };
    expect(await verify(both).result).toMatchObject({ ok: true, label: 'b' });
    expect(await verify(both, { label: 'a' }).result).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringContaining('"@path"'),
    });
    expect(await verify(both, { label: 'c' }).result).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: 'no signature labelled "c"',
    });
  });

  test('Accept-Signature describes the profile (RFC 9421 §5.1)', () => {
    expect(ACCEPT_SIGNATURE).toBe('sig1=("@method" "@path" "@query" "content-digest");created;keyid;nonce');
  });
});

describe('refused', () => {
  const withHeaders = (view: SignedRequestView, headers: Record<string, string | undefined>): SignedRequestView => ({
    ...view,
    headers: { ...view.headers, ...headers },
  });

  test('missing: no Signature-Input or no Signature', async () => {
    const view = signed(POLL);
    for (const headers of [
      { 'signature-input': undefined, signature: undefined },
      { signature: undefined },
      { 'signature-input': undefined },
      { 'signature-input': '', signature: '' },
    ]) {
      const { result, lookups } = verify(withHeaders(view, headers));
      expect(await result).toMatchObject({ ok: false, reason: 'missing' });
      expect(lookups).toEqual([]);
    }
  });

  test.each([
    ['unparsable Signature-Input', { 'signature-input': 'sig1=("@method" "@path"' }, /not a Structured Fields dictionary/],
    ['a repeated label', { 'signature-input': 'sig1=("@method");created=1, sig1=("@path");created=2' }, /repeats a label/],
    ['a repeated Signature label', { signature: 'sig1=:AAAA:, sig1=:AAAA:' }, /repeats a label/],
    ['a label that is not an inner list', { 'signature-input': 'sig1="@method"' }, /not an inner list/],
    ['a Signature that is not bytes', { signature: 'sig1="AAAA"' }, /not a byte sequence/],
    ['no Signature for the label', { signature: 'other=:AAAA:' }, /Signature has no member "sig1"/],
    [
      'a component that is a token',
      { 'signature-input': `sig1=(method "@path" "@query");created=${NOW};keyid="client-hmac";nonce="n"` },
      /must be strings/,
    ],
    [
      'an uppercase field name',
      { 'signature-input': `sig1=("@method" "@path" "@query" "Date");created=${NOW};keyid="k";nonce="n"` },
      /lowercase field name/,
    ],
    [
      'an unknown derived component',
      { 'signature-input': `sig1=("@method" "@path" "@query" "@status");created=${NOW};keyid="k";nonce="n"` },
      /unsupported derived component "@status"/,
    ],
    [
      'a ;sf component parameter',
      { 'signature-input': `sig1=("@method" "@path" "@query" "x";sf);created=${NOW};keyid="k";nonce="n"` },
      /";sf" .* not supported/,
    ],
    [
      'a ;req component parameter',
      { 'signature-input': `sig1=("@method" "@path" "@query" "@method";req);created=${NOW};keyid="k";nonce="n"` },
      /";req" .* not supported/,
    ],
    [
      'a component covered twice',
      { 'signature-input': `sig1=("@method" "@path" "@query" "@path");created=${NOW};keyid="k";nonce="n"` },
      /covers "@path" twice/,
    ],
    ['no created', { 'signature-input': 'sig1=("@method" "@path" "@query");keyid="k";nonce="n"' }, /integer created/],
    [
      'a decimal created',
      { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW}.5;keyid="k";nonce="n"` },
      /integer created/,
    ],
    ['no keyid', { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};nonce="n"` }, /keyid/],
    ['a token keyid', { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};keyid=k;nonce="n"` }, /keyid/],
    ['no nonce', { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};keyid="k"` }, /needs a nonce/],
    [
      'a 129-character nonce',
      { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};keyid="k";nonce="${'n'.repeat(129)}"` },
      /nonce must be/,
    ],
    [
      'an unknown alg',
      { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};keyid="k";nonce="n";alg="rsa-pss-sha512"` },
      /alg must be one of/,
    ],
    [
      'expires before created',
      { 'signature-input': `sig1=("@method" "@path" "@query");created=${NOW};keyid="k";nonce="n";expires=${NOW - 1}` },
      /expires must be/,
    ],
    [
      'a profile component not covered',
      { 'signature-input': `sig1=("@method" "@path");created=${NOW};keyid="k";nonce="n"` },
      /must cover "@query"/,
    ],
  ])('malformed: %s', async (_name, headers, message) => {
    const { result, lookups } = verify(withHeaders(signed(POLL), headers));
    expect(await result).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringMatching(message) });
    expect(lookups).toEqual([]);
  });

  test('malformed: a body request whose signature does not cover content-digest', async () => {
    const view = signed(GENERATE, hmacOptions({ components: ['@method', '@path', '@query'] }));
    const { result, lookups } = verify(view, { body: BODY });
    expect(await result).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringContaining('"content-digest"') });
    expect(lookups).toEqual([]);
    // Chunked bodies count as bodies too.
    const chunked = signed({ ...POLL, headers: { 'transfer-encoding': 'chunked' } });
    expect(await verify(chunked).result).toMatchObject({ ok: false, reason: 'malformed' });
  });

  test('malformed: a covered header that is absent, and a covered Content-Digest without sha-256', async () => {
    const view = signed({ ...POLL, headers: { 'x-client': 'c' } }, hmacOptions({ components: ['@method', '@path', '@query', 'x-client'] }));
    expect(await verify(view).result).toMatchObject({ ok: true });
    const absent = verify(withHeaders(view, { 'x-client': undefined }));
    expect(await absent.result).toMatchObject({ ok: false, reason: 'malformed', message: 'covered header "x-client" is absent' });
    expect(absent.lookups).toEqual([]);

    const body = signed(GENERATE);
    const sha512 = 'sha-512=:' + createHash('sha512').update(BODY).digest('base64') + ':';
    const noSha256 = verify(withHeaders(body, { 'content-digest': sha512 }), { body: BODY });
    expect(await noSha256.result).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringContaining('no sha-256 member') });
    expect(noSha256.lookups).toEqual([]);
  });

  test('malformed, quickly and without a key lookup: a 64 KB Signature-Input or Signature', async () => {
    const view = signed(POLL);
    const huge = 'sig1=("@method" "@path" "@query" ' + '"x-a" '.repeat(11_000) + `);created=${NOW};keyid="client-hmac";nonce="n"`;
    expect(huge.length).toBeGreaterThan(64 * 1024);
    for (const headers of [{ 'signature-input': huge }, { signature: 'sig1=:' + 'A'.repeat(64 * 1024) + ':' }]) {
      const { result, lookups } = verify(withHeaders(view, headers));
      expect(await result).toMatchObject({
        ok: false,
        reason: 'malformed',
        message: expect.stringContaining(`longer than ${MAX_SIGNATURE_FIELD_LENGTH}`),
      });
      expect(lookups).toEqual([]);
    }
    // Under the byte cap, the component count is capped too.
    const many =
      'sig1=("@method" "@path" "@query" ' +
      Array.from({ length: 40 }, (_, i) => `"x-${i}"`).join(' ') +
      `);created=${NOW};keyid="k";nonce="n"`;
    expect(await verify(withHeaders(view, { 'signature-input': many })).result).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringContaining('more than 32 components'),
    });
  });

  test('expired: created 10 minutes ago, created 10 minutes ahead, expires in the past', async () => {
    for (const options of [
      hmacOptions({ created: NOW - 600 }),
      hmacOptions({ created: NOW + 600 }),
      hmacOptions({ created: NOW - 10, expires: NOW - 1 }),
    ]) {
      const { result, lookups } = verify(signed(POLL, options));
      expect(await result).toMatchObject({ ok: false, reason: 'expired' });
      expect(lookups).toEqual([]);
    }
    // Inside the window (and a custom window) it passes.
    expect(await verify(signed(POLL, hmacOptions({ created: NOW - 299 }))).result).toMatchObject({ ok: true });
    expect(await verify(signed(POLL, hmacOptions({ created: NOW - 299 })), { maxSkewSeconds: 60 }).result).toMatchObject({
      reason: 'expired',
    });
  });

  test('unknown_key: the lookup returns null', async () => {
    const { result, lookups } = verify(signed(POLL, hmacOptions({ keyId: 'revoked' })));
    expect(await result).toMatchObject({ ok: false, reason: 'unknown_key', message: 'unknown key id "revoked"' });
    expect(lookups).toEqual(['revoked']);
  });

  test('algorithm_mismatch: alg differs from the key’s algorithm', async () => {
    // Signed with the HMAC secret but claiming ed25519; and an Ed25519 key id used with alg hmac-sha256.
    const claimsEd = signed(POLL, hmacOptions({ algorithm: 'hmac-sha256' }));
    const lying = withHeaders(claimsEd, {
      'signature-input': String(claimsEd.headers['signature-input']).replace('alg="hmac-sha256"', 'alg="ed25519"'),
    });
    expect(await verify(lying).result).toMatchObject({ ok: false, reason: 'algorithm_mismatch' });
    const hmacWithEdKey = signed(POLL, hmacOptions({ keyId: 'client-ed' }));
    expect(await verify(hmacWithEdKey).result).toMatchObject({ ok: false, reason: 'algorithm_mismatch' });
  });

  test('digest_mismatch: the body changed after signing (the Content-Digest is the signed one)', async () => {
    const view = signed(GENERATE);
    expect(await verify(view, { body: BODY }).result).toMatchObject({ ok: true });
    const changed = BODY.replace('"en"', '"de"');
    expect(await verify(view, { body: changed }).result).toMatchObject({ ok: false, reason: 'digest_mismatch' });
    // No digest supplied means "no body": fails closed.
    expect(await verify(view).result).toMatchObject({ ok: false, reason: 'digest_mismatch' });
    // A Content-Digest rewritten to match the new body breaks the signature instead.
    const rewritten = withHeaders(view, { 'content-digest': `sha-256=:${sha256(changed).toString('base64')}:` });
    expect(await verify(rewritten, { body: changed }).result).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  test('invalid_signature: moved to another path, method or query, or signed with another secret', async () => {
    const view = signed(POLL);
    for (const moved of [
      { ...view, url: '/api/v1/batch-results/550e8400-e29b-41d4-a716-446655440000' },
      { ...view, url: '/api/v1/batch-jobs/550e8400-e29b-41d4-a716-446655440000/cancel', method: 'POST' },
      { ...view, method: 'DELETE' },
      { ...view, url: view.url + '?limit=5' },
      signed(POLL, hmacOptions({ key: Buffer.from('another secret') })),
    ]) {
      expect(await verify(moved).result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    }
    const truncated = withHeaders(view, { signature: 'sig1=:AAAA:' });
    expect(await verify(truncated).result).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  test('odd but valid dictionary syntax is read exactly as sent: extra spaces are part of the signed params', async () => {
    const view = signed(POLL);
    const input = String(view.headers['signature-input']);
    // OWS around members is not part of the member: still valid.
    expect(await verify(withHeaders(view, { 'signature-input': `  ${input}  ` })).result).toMatchObject({ ok: true });
    // Spaces inside the inner list change the signature-params line, so the signature no longer matches.
    const spaced = input.replace('("@method" "@path"', '("@method"  "@path"');
    expect(await verify(withHeaders(view, { 'signature-input': spaced })).result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    // Another label next to ours (a proxy's) does not disturb it, whatever its quoting.
    const proxy = `proxy=("@method" "x-a");created=1;keyid="a, \\"b\\""`;
    expect(await verify(withHeaders(view, { 'signature-input': `${proxy}, ${input}` })).result).toMatchObject({ ok: true, label: 'sig1' });
  });
});

test('verifying is pure CPU: it settles before the event loop turns (no I/O, no timers), key lookup aside', async () => {
  const views = [
    signed(POLL),
    signed(GENERATE),
    signed(LIST, { keyId: 'client-ed', algorithm: 'ed25519', key: ed.privateKey, created: NOW }),
  ];
  let settled = 0;
  let loopTurned = false;
  const turn = new Promise<void>((resolve) =>
    setImmediate(() => {
      loopTurned = true;
      resolve();
    }),
  );
  for (let i = 0; i < 300; i++) {
    for (const view of views) {
      void verify(view, { body: view.method === 'POST' ? BODY : undefined }).result.then((result) => {
        if (result.ok && !loopTurned) settled++;
      });
    }
  }
  await turn;
  expect(settled).toBe(900);
});
