import OpenAI, { BadRequestError } from 'openai';
import type { RunningEmulator } from '../../src/emulator/emulator.js';
import { DEEP_REASONING_TOKENS } from '../../src/emulator/response-builder.js';
import { describeDamage } from '../../src/emulator/text-generator.js';
import { batchLine, createBatch, isTerminal, pollBatch, readJsonl, startTestEmulator } from './helpers.js';

/**
 * Issue 16: the emulator judges the two things real OpenAI would hold against
 * every lot — per-request `metadata` with `store: false`, and a reasoning
 * answer that does not fit its `max_output_tokens`.
 */
let emu: RunningEmulator;
let client: OpenAI;
beforeAll(async () => {
  ({ emu, client } = await startTestEmulator({ batchDurationMs: 100 }));
});
afterAll(() => emu.close());

const METADATA_ERROR = {
  message: "The 'metadata' parameter is only allowed when 'store' is enabled.",
  type: 'invalid_request_error',
  param: 'metadata',
  code: 'invalid_value',
};

describe('metadata without store', () => {
  it('answers 400 in OpenAI error shape for metadata with store: false', async () => {
    const error = (await client.responses
      .create({ model: 'o4-mini', input: 'Additional information: x', store: false, metadata: { lot_id: 'L1' } })
      .catch((e: unknown) => e)) as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.status).toBe(400);
    expect(error.error).toEqual(METADATA_ERROR);
    expect(emu.stats().responsesFailed).toBeGreaterThanOrEqual(1);
  });

  it('accepts metadata when store is on (explicitly, or by the Responses default) and store: false without metadata', async () => {
    const bodies: { model: string; input: string; store?: boolean; metadata?: Record<string, string> }[] = [
      { model: 'o4-mini', input: 'Additional information: a', store: true, metadata: { lot_id: 'L2' } },
      { model: 'o4-mini', input: 'Additional information: b', metadata: { lot_id: 'L3' } },
      { model: 'o4-mini', input: 'Additional information: c', store: false },
      { model: 'o4-mini', input: 'Additional information: d', store: false, metadata: {} },
    ];
    for (const body of bodies) {
      const response = await client.responses.create(body);
      expect({ status: response.status, store: (response as unknown as { store: boolean }).store }).toEqual({
        status: 'completed',
        store: body.store ?? true,
      });
    }
  });

  it('puts the same 400 into the batch error file for such a line; the other lines succeed', async () => {
    const batch = await createBatch(client, [
      batchLine('with-metadata', { model: 'o4-mini', input: 'Additional information: m', store: false, metadata: { lot_id: 'L4' } }),
      batchLine('clean', { model: 'o4-mini', input: 'Additional information: n', store: false }),
    ]);
    const done = await pollBatch(client, batch.id, isTerminal);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 1, failed: 1 } });
    const errors = await readJsonl(client, done.error_file_id as string);
    expect(errors).toEqual([
      {
        id: expect.stringMatching(/^batch_req_/),
        custom_id: 'with-metadata',
        response: { status_code: 400, request_id: expect.any(String), body: { error: METADATA_ERROR } },
        error: null,
      },
    ]);
    const output = await readJsonl(client, done.output_file_id as string);
    expect(output.map((line) => line.custom_id)).toEqual(['clean']);
  });
});

describe('reasoning that does not fit max_output_tokens', () => {
  const deep = 'Additional information: Engine bay fire [emulator:deep-reasoning]';

  it('[emulator:deep-reasoning] is cut at the default 25,000 (reasoning billed, no message) and fits at twice that', async () => {
    const cut = await client.responses.create({ model: 'o4-mini', input: deep, store: false, max_output_tokens: 25_000 });
    expect(cut.status).toBe('incomplete');
    expect(cut.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(cut.output.map((item) => item.type)).toEqual(['reasoning']);
    expect(cut.max_output_tokens).toBe(25_000);
    expect(cut.usage).toMatchObject({ output_tokens: 25_000, output_tokens_details: { reasoning_tokens: 25_000 } });

    const fits = await client.responses.create({ model: 'o4-mini', input: deep, store: false, max_output_tokens: 50_000 });
    expect(fits.status).toBe('completed');
    expect(fits.output_text).toBe(describeDamage('Engine bay fire', 0));
    const text = Math.ceil(describeDamage('Engine bay fire', 0).length / 4);
    expect(fits.usage).toMatchObject({
      output_tokens: DEEP_REASONING_TOKENS + text,
      output_tokens_details: { reasoning_tokens: DEEP_REASONING_TOKENS },
    });
  });

  it('has no effect on a non-reasoning model (no reasoning tokens)', async () => {
    const response = await client.responses.create({ model: 'gpt-4.1-mini', input: deep, max_output_tokens: 100 });
    expect(response.status).toBe('completed');
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(0);
  });

  it('cuts the batch line the same way (output file, status 200, incomplete body)', async () => {
    const batch = await createBatch(client, [
      batchLine('deep', { model: 'o4-mini', input: deep, store: false, max_output_tokens: 25_000 }),
    ]);
    const done = await pollBatch(client, batch.id, isTerminal);
    const [line] = await readJsonl(client, done.output_file_id as string);
    expect(line).toMatchObject({
      custom_id: 'deep',
      response: {
        status_code: 200,
        body: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 25_000 } },
      },
    });
  });
});
