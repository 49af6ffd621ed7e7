import OpenAI, { BadRequestError, InternalServerError } from 'openai';
import type { Response, ResponseOutputMessage } from 'openai/resources/responses/responses';
import type { RunningEmulator } from '../../src/emulator/emulator.js';
import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import { PNG_1PX, startImageServer, startTestEmulator, type ImageServer } from './helpers.js';

let emu: RunningEmulator;
let client: OpenAI;
let images: ImageServer;

beforeAll(async () => {
  ({ emu, client } = await startTestEmulator({ imageFetchTimeoutMs: 1000 }));
  images = await startImageServer();
});
afterAll(async () => {
  await emu.close();
  await images.close();
});

function visionInput(info: string, urls: string[]) {
  return [
    {
      role: 'user' as const,
      content: [
        { type: 'input_text' as const, text: `Describe the visible damage as HTML.\nAdditional information: ${info}` },
        ...urls.map((url) => ({ type: 'input_image' as const, image_url: url, detail: 'auto' as const })),
      ],
    },
  ];
}

function messageText(response: Response): string {
  const message = response.output.find((item): item is ResponseOutputMessage => item.type === 'message');
  return (message?.content ?? []).map((part) => (part.type === 'output_text' ? part.text : '')).join('');
}

describe('POST /v1/responses', () => {
  it('really fetches the images and describes the damage deterministically', async () => {
    const urls = [`${images.base}/a.png`, `${images.base}/b.png`, `${images.base}/a.png`];
    const before = emu.stats().imageFetches;
    const response: Response = await client.responses.create({
      model: 'o4-mini',
      input: visionInput('2019 Mercedes C-Class, minor rear damage.', urls),
    });

    expect(images.hits.get('/a.png')).toBe(2);
    expect(images.hits.get('/b.png')).toBe(1);
    expect(emu.stats().imageFetches - before).toBe(3);
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'o4-mini', error: null, incomplete_details: null });
    expect(response.id).toMatch(/^resp_/);
    const expected =
      '<p>Damage assessment of 3 image(s): 2019 Mercedes C-Class, minor rear damage.</p><p>The photos are consistent with the description; no further damage is visible.</p>';
    expect(describeDamage('2019 Mercedes C-Class, minor rear damage.', 3)).toBe(expected);
    expect(response.output_text).toBe(expected);
    expect(messageText(response)).toBe(expected);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(response.usage?.input_tokens).toBeGreaterThan(3 * 765);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
    expect(emu.stats().requests['POST /v1/responses']).toBeGreaterThanOrEqual(1);
  });

  it('is deterministic: the same input gives the same text and output shape', async () => {
    const body = {
      model: 'o4-mini',
      input: visionInput('Hail damage on the roof.', [`data:image/png;base64,${PNG_1PX.toString('base64')}`]),
    };
    const [a, b] = await Promise.all([client.responses.create(body), client.responses.create(body)]);
    expect(a.output_text).toBe(b.output_text);
    expect(a.output.map((i) => i.type)).toEqual(b.output.map((i) => i.type));
    expect(a.id).not.toBe(b.id);
  });

  it.each([
    ['connection refused', 'http://127.0.0.1:1/x.jpg'],
    ['a 404', '/missing.jpg'],
    ['not an image', '/page.html'],
  ])('answers 400 "Error while downloading" for an image that cannot be downloaded (%s)', async (_case, path) => {
    const url = path.startsWith('/') ? images.base + path : path;
    const error = (await client.responses
      .create({ model: 'o4-mini', input: visionInput('x', [`${images.base}/ok.png`, url]) })
      .catch((e: unknown) => e)) as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.status).toBe(400);
    expect(error.error).toEqual({
      message: `Error while downloading ${url}.`,
      type: 'invalid_request_error',
      param: 'url',
      code: 'invalid_value',
    });
  });

  it('rejects temperature on reasoning models and accepts it on others', async () => {
    for (const model of ['o4-mini', 'o3', 'gpt-5-mini']) {
      const error = (await client.responses.create({ model, input: 'hi', temperature: 0.2 }).catch((e: unknown) => e)) as BadRequestError;
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toEqual({
        message: "Unsupported parameter: 'temperature' is not supported with this model.",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'unsupported_parameter',
      });
    }
    const ok = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Additional information: scratch', temperature: 0.2 });
    expect(ok.temperature).toBe(0.2);
    expect(ok.output.map((i) => i.type)).toEqual(['message']);
    expect(ok.usage?.output_tokens_details.reasoning_tokens).toBe(0);
  });

  it('varies the output order across inputs, always keeping one message item', async () => {
    const shapes = new Set<string>();
    let split = 0;
    for (let i = 0; i < 40; i++) {
      const response = await client.responses.create({ model: 'o4-mini', input: `Additional information: lot ${i}` });
      const types = response.output.map((item) => item.type);
      shapes.add(types.join(','));
      expect(types.filter((t) => t === 'message')).toHaveLength(1);
      expect(response.output_text).toBe(describeDamage(`lot ${i}`, 0));
      const message = response.output.find((item): item is ResponseOutputMessage => item.type === 'message');
      if ((message?.content.length ?? 0) > 1) split++;
    }
    expect(shapes).toContain('reasoning,message');
    expect(shapes).toContain('message,reasoning');
    expect(shapes).toContain('reasoning,message,reasoning');
    expect(split).toBeGreaterThan(0);
  });

  it('ends incomplete with only a reasoning item when max_output_tokens is too small', async () => {
    const response = await client.responses.create({ model: 'o4-mini', input: 'Additional information: dent', max_output_tokens: 32 });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output.map((i) => i.type)).toEqual(['reasoning']);
    expect(response.output_text).toBe('');
    expect(response.usage?.output_tokens).toBe(32);

    const enough = await client.responses.create({ model: 'o4-mini', input: 'Additional information: dent', max_output_tokens: 2000 });
    expect(enough.status).toBe('completed');
  });

  it('yields JSON satisfying a json_schema, translating into every language-code property', async () => {
    const english = describeDamage('Front bumper cracked.', 2);
    const schema = {
      type: 'object',
      properties: {
        de: { type: 'string' },
        fr: { type: 'string' },
        meta: { type: 'object', properties: { note: { type: 'string' } }, required: ['note'], additionalProperties: false },
      },
      required: ['de', 'fr', 'meta'],
      additionalProperties: false,
    };
    const response = await client.responses.create({
      model: 'gpt-4.1-mini',
      instructions: 'Translate the HTML into each language; keep the tags.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: `Translate:\n${english}` }] }],
      text: { format: { type: 'json_schema', name: 'translations', schema, strict: true } },
    });
    const parsed = JSON.parse(response.output_text) as { de: string; fr: string; meta: { note: string } };
    expect(Object.keys(parsed).sort()).toEqual(['de', 'fr', 'meta']);
    expect(parsed.de).toBe(translateHtml(english, 'de'));
    expect(parsed.de).toBe(
      '<p>[de] Damage assessment of 2 image(s): Front bumper cracked.</p><p>[de] The photos are consistent with the description; no further damage is visible.</p>',
    );
    expect(parsed.fr.startsWith('<p>[fr] ')).toBe(true);
    expect(typeof parsed.meta.note).toBe('string');
    expect(response.text?.format).toMatchObject({ type: 'json_schema', name: 'translations' });
  });

  describe('trigger markers', () => {
    const run = (marker: string, model = 'o4-mini') => client.responses.create({ model, input: `Additional information: crash ${marker}` });

    it('[emulator:refusal] answers a refusal part instead of text', async () => {
      const response = await run('[emulator:refusal]');
      const message = response.output.find((item): item is ResponseOutputMessage => item.type === 'message');
      expect(message?.content).toEqual([{ type: 'refusal', refusal: expect.any(String) }]);
      expect(response.output_text).toBe('');
    });

    it('[emulator:reasoning-only] completes without a message item', async () => {
      const response = await run('[emulator:reasoning-only]');
      expect(response.status).toBe('completed');
      expect(response.output.map((i) => i.type)).toEqual(['reasoning']);
    });

    it('[emulator:incomplete] and [emulator:empty]', async () => {
      expect((await run('[emulator:incomplete]')).status).toBe('incomplete');
      const empty = await run('[emulator:empty]');
      expect(empty.status).toBe('completed');
      expect(messageText(empty)).toBe('');
    });

    it('[emulator:fail-500] answers 500 server_error', async () => {
      const error = await run('[emulator:fail-500]').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InternalServerError);
      expect((error as InternalServerError).type).toBe('server_error');
    });

    it('[emulator:next:refusal] is carried into the description, to fire on the translation', async () => {
      const response = await run('[emulator:next:refusal]');
      expect(response.output_text).toBe(describeDamage('crash [emulator:refusal]', 0));
      const translation = await client.responses.create({ model: 'gpt-4.1-mini', input: response.output_text });
      expect(translation.output_text).toBe('');
    });

    it('[emulator:message-first] and [emulator:split-text] force output shapes', async () => {
      expect((await run('[emulator:message-first]')).output.map((i) => i.type)).toEqual(['message', 'reasoning']);
      const split = await run('[emulator:split-text]');
      const message = split.output.find((item): item is ResponseOutputMessage => item.type === 'message');
      expect(message?.content).toHaveLength(2);
      expect(split.output_text).toBe(describeDamage('crash', 0));
    });
  });

  it('validates the request like OpenAI (missing model, max_output_tokens below 16)', async () => {
    const res = await fetch(`${emu.url}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-emulator-key', 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'hi' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: "Missing required parameter: 'model'.",
        type: 'invalid_request_error',
        param: 'model',
        code: 'missing_required_parameter',
      },
    });
    const error = (await client.responses
      .create({ model: 'o4-mini', input: 'x', max_output_tokens: 5 })
      .catch((e: unknown) => e)) as BadRequestError;
    expect(error.param).toBe('max_output_tokens');
  });
});
