/** RFC 9530 Content-Digest, sha-256 only. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { contentDigestHeader, contentDigestMatches, parseContentDigest } from '../../../src/auth/http-signatures/index.js';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/rfc9421-vectors.json', import.meta.url), 'utf8')) as {
  contentDigests: { body: string; sha256: string; sha512: string }[];
};
const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest();

test.each(fixture.contentDigests)('the RFC 9530 example digest of $body', ({ body, sha256: expected, sha512 }) => {
  expect(contentDigestHeader(body)).toBe(expected);
  expect(contentDigestHeader(Buffer.from(body))).toBe(expected);
  expect(contentDigestMatches(expected, sha256(body))).toBe(true);
  // Other algorithms next to sha-256 are ignored, in any order.
  expect(contentDigestMatches(`${sha512}, ${expected}`, sha256(body))).toBe(true);
  expect(contentDigestMatches(expected, sha256(body + ' '))).toBe(false);
});

test('sha-256 is required: sha-512 alone is refused with a clear message', () => {
  const [{ body, sha512 }] = fixture.contentDigests;
  expect(contentDigestMatches(sha512, sha256(body))).toBe(false);
  expect(parseContentDigest(sha512)).toEqual({
    ok: false,
    message: expect.stringMatching(/no sha-256 member \(algorithms present: sha-512\)/),
  });
});

test.each([
  ['not a dictionary', 'sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
  ['a digest of the wrong length', 'sha-256=:AAAA:'],
  ['a string instead of bytes', 'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="'],
  ['an oversized value', `sha-512=:${'A'.repeat(2000)}:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`],
])('refuses %s', (_name, header) => {
  expect(parseContentDigest(header).ok).toBe(false);
  expect(contentDigestMatches(header, sha256('{"hello": "world"}'))).toBe(false);
});
