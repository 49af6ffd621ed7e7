import { MAX_INPUT_FILE_BYTES, validateBatchInput } from '../../src/emulator/batch-validation.js';

const line = (id: string) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/responses', body: { model: 'o4-mini', input: 'x' } });

describe('validateBatchInput', () => {
  it('accepts CRLF line ends and blank lines, keeping 1-based line numbers for errors', () => {
    const ok = validateBatchInput(Buffer.from(`${line('a')}\r\n\r\n${line('b')}\r\n`), '/v1/responses');
    expect(ok).toMatchObject({ ok: true, model: 'o4-mini' });
    expect(ok.ok && ok.lines.map((l) => l.customId)).toEqual(['a', 'b']);

    const bad = validateBatchInput(Buffer.from(`${line('a')}\n\n{oops\n`), '/v1/responses');
    expect(bad).toEqual({
      ok: false,
      errors: [{ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line: 3 }],
    });
  });

  it('fails a file over 200 MB before reading its lines', () => {
    const result = validateBatchInput(Buffer.alloc(MAX_INPUT_FILE_BYTES + 1, 0x20), '/v1/responses');
    expect(result).toMatchObject({ ok: false, errors: [{ code: 'file_too_large', line: null }] });
  });

  it('accepts exactly 50,000 requests', () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => line(`r${i}`));
    const result = validateBatchInput(Buffer.from(lines.join('\n')), '/v1/responses');
    expect(result.ok && result.lines).toHaveLength(50_000);
  });
});
