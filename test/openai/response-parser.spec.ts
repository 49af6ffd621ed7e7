import type { ResponseCreateParamsNonStreaming } from '../../src/openai/openai-gateway.types.js';
import { parseResponseBody } from '../../src/openai/response-body.parser.js';
import { EMULATOR_KEY, expectedDescription, startGateway, visionBody, type GatewayFixture } from './gateway-support.js';

let fx: GatewayFixture;

beforeAll(async () => {
  fx = await startGateway();
});
afterAll(() => fx.close());

/** A vision request whose additional info carries an emulator trigger marker. */
const withTrigger = (trigger: string, info = 'Scratched hood') =>
  visionBody({ lotId: 'L', additionalInfo: `${info} [emulator:${trigger}]`, imageUrls: [] });

/** The emulator's raw Responses body for `body`, fetched without the gateway so its shape can be asserted. */
async function rawResponse(body: ResponseCreateParamsNonStreaming): Promise<{ output: { type: string; content?: unknown[] }[] }> {
  const res = await fetch(`${fx.emu.url}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${EMULATOR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { output: { type: string; content?: unknown[] }[] };
}

describe('parseResponseBody on real emulator answers', () => {
  it.each([
    ['reasoning-first', 'Cracked windshield', ['reasoning', 'message']],
    ['message-first', 'Scratched hood [emulator:message-first]', ['message', 'reasoning']],
    ['extra-items', 'Scratched hood [emulator:extra-items]', ['reasoning', 'message', 'reasoning']],
  ])('finds the message text whatever the order of items (%s; reference 000: never output[0])', async (_shape, info, types) => {
    const body = visionBody({ lotId: 'L', additionalInfo: info, imageUrls: [] });
    const raw = await rawResponse(body);
    expect(raw.output.map((item) => item.type)).toEqual(types);
    const expected = expectedDescription(info.replace(/ \[emulator:[a-z-]+\]/, ''), 0);
    expect(parseResponseBody(raw)).toMatchObject({ ok: true, text: expected });
    // The same through a direct call.
    expect(await fx.gateway.respond(body)).toMatchObject({ ok: true, text: expected });
  });

  it('joins text split over several output_text parts', async () => {
    const raw = await rawResponse(withTrigger('split-text'));
    const message = raw.output.find((item) => item.type === 'message');
    expect(message?.content).toHaveLength(2);
    expect(parseResponseBody(raw)).toMatchObject({ ok: true, text: expectedDescription('Scratched hood', 0) });
  });

  it.each([
    ['refusal', 'refusal', /refused: I'm sorry, but I can't help with that request\./, false],
    ['incomplete', 'incomplete', /incomplete: max_output_tokens/, false],
    ['reasoning-only', 'no_message', /no message item \(output items: reasoning\)/, true],
    ['empty', 'empty_text', /no text/, true],
  ] as const)('turns the %s trigger into a %s error', async (trigger, kind, message, retryable) => {
    const result = await fx.gateway.respond(withTrigger(trigger));
    expect(result).toMatchObject({ ok: false, kind, retryable, error: expect.stringMatching(message) });
    // Tokens were spent even without a usable text: usage is still reported.
    expect(result.usage.output_tokens).toBeGreaterThan(0);
  });

  it('reports a too-small max_output_tokens as incomplete with only a reasoning item', async () => {
    const body = {
      ...visionBody({ lotId: 'L', additionalInfo: 'Long text '.repeat(40), imageUrls: [] }),
      max_output_tokens: 64,
    };
    expect(await fx.gateway.respond(body)).toMatchObject({
      ok: false,
      kind: 'incomplete',
      error: 'The response is incomplete: max_output_tokens.',
    });
  });
});

describe('parseResponseBody on literal bodies', () => {
  const usage = {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 4 },
    output_tokens: 30,
    output_tokens_details: { reasoning_tokens: 20 },
    total_tokens: 40,
  };
  const text = (t: string) => ({ type: 'output_text', text: t, annotations: [] });
  const message = (...content: unknown[]) => ({ type: 'message', role: 'assistant', status: 'completed', content });
  const reasoning = { type: 'reasoning', summary: [] };
  const body = (output: unknown[], extra: Record<string, unknown> = {}) => ({ status: 'completed', output, usage, ...extra });

  it('joins the output_text parts of every message item, ignoring other items and parts', () => {
    const result = parseResponseBody(
      body([
        reasoning,
        message(text('<p>One'), { type: 'output_audio' }, text(' two</p>')),
        { type: 'web_search_call' },
        message(text('<p>Three</p>')),
      ]),
    );
    expect(result).toEqual({
      ok: true,
      text: '<p>One two</p><p>Three</p>',
      usage: { input_tokens: 10, cached_tokens: 4, output_tokens: 30, reasoning_tokens: 20, total_tokens: 40 },
    });
  });

  it('always returns all four usage counters, zero when absent', () => {
    expect(parseResponseBody({ status: 'completed', output: [message(text('<p>x</p>'))] })).toEqual({
      ok: true,
      text: '<p>x</p>',
      usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 },
    });
  });

  it('gives the refusal text even when text parts come first', () => {
    expect(parseResponseBody(body([message(text('<p>Sure</p>'), { type: 'refusal', refusal: 'Not allowed.' })]))).toMatchObject({
      ok: false,
      kind: 'refusal',
      error: 'The model refused: Not allowed.',
    });
  });

  it('reports incomplete with its reason even when some text exists', () => {
    const result = parseResponseBody(
      body([message(text('<p>Half'))], { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }),
    );
    expect(result).toMatchObject({ ok: false, kind: 'incomplete', error: 'The response is incomplete: content_filter.', retryable: false });
  });

  it.each([
    ['no output at all', { status: 'completed', usage }, 'no_message'],
    ['only whitespace text', body([message(text('  \n'))]), 'empty_text'],
    ['a message without content', body([{ type: 'message' }]), 'empty_text'],
    ['a failed response', { status: 'failed', error: { code: 'server_error', message: 'boom' }, output: [] }, 'request_failed'],
    ['not an object', 'just a string', 'malformed'],
    ['null', null, 'malformed'],
  ])('classifies %s', (_name, input, kind) => {
    const result = parseResponseBody(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.kind).toBe(kind);
  });

  it('marks a failed response retryable only for server errors', () => {
    expect(parseResponseBody({ status: 'failed', error: { code: 'server_error', message: 'boom' } })).toMatchObject({
      retryable: true,
      error: 'boom',
    });
    expect(parseResponseBody({ status: 'failed', error: { code: 'invalid_prompt', message: 'bad' } })).toMatchObject({
      retryable: false,
      error: 'bad',
    });
  });
});
