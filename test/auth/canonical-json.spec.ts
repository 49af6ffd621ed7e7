import { readFileSync } from 'node:fs';
import {
  canonicalFromRaw,
  canonicalJson,
  canonicalMemberFromRaw,
  parseRawJson,
  pythonFloat,
  rawToJsonText,
  rawToValue,
} from '../../src/common/json/canonical-json.js';
import { sign, verifySignature } from '../../src/auth/hmac.js';

interface Vector {
  name: string;
  body: string;
  canonical: string;
  signature: string;
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/hmac-vectors.json', import.meta.url), 'utf8')) as {
  key: string;
  vectors: Vector[];
  job_id: { job_id: string; signature: string };
  query: { query: string; signature: string };
};

describe('canonical JSON = Python json.dumps(lots, separators=(",", ":"), sort_keys=True)', () => {
  test.each(golden.vectors.map((v) => [v.name, v] as const))('%s: from the raw body Python sent', (_name, vector) => {
    expect(canonicalMemberFromRaw(vector.body, 'lots')).toBe(vector.canonical);
    expect(sign(golden.key, canonicalMemberFromRaw(vector.body, 'lots'))).toBe(vector.signature);
  });

  test.each(golden.vectors.filter((v) => !['floats', 'integers'].includes(v.name)).map((v) => [v.name, v] as const))(
    '%s: from a raw UTF-8 body (as JavaScript clients send it)',
    (_name, vector) => {
      const utf8Body = JSON.stringify(JSON.parse(vector.body));
      expect(canonicalMemberFromRaw(utf8Body, 'lots')).toBe(vector.canonical);
    },
  );

  test('parsed values give the same form where JSON.parse keeps the information', () => {
    for (const vector of golden.vectors.filter((v) => !['floats', 'integers'].includes(v.name))) {
      expect(canonicalJson(JSON.parse(vector.body).lots)).toBe(vector.canonical);
    }
  });

  test('int and float lexemes stay distinct, as in Python', () => {
    expect(canonicalFromRaw('[1, 1.0, -0, 1E2, 1e-7, 12345678901234567890]')).toBe('[1,1.0,0,100.0,1e-07,12345678901234567890]');
  });

  test.each([
    [0.1, '0.1'],
    [1e16, '1e+16'],
    [1.5e16, '1.5e+16'],
    [123456789012345.6, '123456789012345.6'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [-2.5, '-2.5'],
    [1e22, '1e+22'],
    [5e-324, '5e-324'],
  ])('repr(float(%p)) == %p', (value, expected) => {
    expect(pythonFloat(value)).toBe(expected);
  });

  test('a missing or non-object body canonicalises to null', () => {
    expect(canonicalMemberFromRaw('{"version":"1"}', 'lots')).toBe('null');
    expect(canonicalMemberFromRaw('[1,2]', 'lots')).toBe('null');
  });
});

describe('signatures', () => {
  test('job id and query string vectors', () => {
    expect(sign(golden.key, golden.job_id.job_id)).toBe(golden.job_id.signature);
    expect(sign(golden.key, golden.query.query)).toBe(golden.query.signature);
  });

  test('verification accepts only well-formed, matching signatures', () => {
    const good = sign(golden.key, 'message');
    expect(verifySignature(golden.key, 'message', good)).toBe(true);
    expect(verifySignature(golden.key, 'message', good.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifySignature(golden.key, 'other', good)).toBe(false);
    expect(verifySignature('another-key', 'message', good)).toBe(false);
    for (const malformed of [
      '',
      'sha256=',
      good.slice(7),
      'sha1=' + good.slice(7),
      good + '00',
      good.slice(0, -2),
      'sha256=' + 'zz'.repeat(32),
    ]) {
      expect(verifySignature(golden.key, 'message', malformed)).toBe(false);
    }
  });
});

describe('the body the routes see: built directly from the tree, or through its JSON text', () => {
  const bodies = [
    '{"lots":[{"lot_id":"a","lot_id":"b","images":[{"url":"http://x/1.jpg"}]}],"version":"1.0.0"}',
    '{"__proto__":{"polluted":true},"constructor":1,"a":{"__proto__":null}}',
    '[-0,0.0,1e400,-1e400,1.5e-7,12345678901234567890,-12]',
    '{"text":"Кузов \\u00e9 \\ud83d\\ude97 \\"quoted\\" \\n","nested":[[[{"k":[true,false,null]}]]],"empty":{},"none":[]}',
  ];
  test.each(bodies)('rawToValue(%s) is exactly JSON.parse(rawToJsonText(tree))', (body) => {
    const tree = parseRawJson(body);
    const direct = rawToValue(tree);
    const viaText: unknown = JSON.parse(rawToJsonText(tree));
    expect(direct).toStrictEqual(viaText);
    expect(JSON.stringify(direct)).toBe(JSON.stringify(viaText)); // key order too
    expect(Object.getPrototypeOf(direct)).toBe(Object.getPrototypeOf(viaText));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('__proto__ stays an own key, never the prototype', () => {
    const value = rawToValue(parseRawJson('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(value.polluted).toBeUndefined();
  });
});
