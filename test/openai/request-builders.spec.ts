import type { ResponseCreateParamsNonStreaming } from '../../src/openai/openai-gateway.types.js';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '../../src/config/config.module.js';
import { OpenAiGatewayModule } from '../../src/openai/openai-gateway.module.js';
import { OpenAiGateway } from '../../src/openai/openai-gateway.service.js';
import { isReasoningModel, modelOutputLimit, retryOutputBudget } from '../../src/openai/model-budget.js';
import { parseTranslation } from '../../src/translation/translation-answer.parser.js';
import { VisionModule } from '../../src/vision/vision.module.js';
import { VisionService } from '../../src/vision/vision.service.js';
import { expectedDescription, gatewayConfig, startGateway, translationBody, useGatewayWithImages, visionBody } from './gateway-support.js';

const ctx = useGatewayWithImages();

type Part = { type: string; text?: string; image_url?: string; detail?: string };
const partsOf = (body: ResponseCreateParamsNonStreaming) => (body.input as { role: string; content: Part[] }[])[0].content;

describe('vision request', () => {
  it('sends a reasoning model (o4-mini) reasoning effort and no temperature, images as input_image parts', () => {
    const body = visionBody({
      lotId: 'LOT-1',
      additionalInfo: 'Front bumper cracked',
      imageUrls: ['https://a/1.jpg', 'https://a/2.jpg'],
    });
    expect(body.model).toBe('o4-mini');
    expect(body).not.toHaveProperty('temperature');
    expect(body.reasoning).toEqual({ effort: 'medium' });
    // OpenAI's reasoning guide: reserve at least 25,000 tokens for reasoning and output (OPENAI_REASONING_MAX_OUTPUT_TOKENS).
    expect(body.max_output_tokens).toBe(25_000);
    expect(body.store).toBe(false);
    // Issue 16: no per-request metadata unless store is on (the batch line's custom_id names the lot).
    expect(body).not.toHaveProperty('metadata');
    expect(String(body.instructions)).toMatch(/<p>/);
    const parts = partsOf(body);
    expect(parts.filter((p) => p.type === 'input_image').map((p) => [p.image_url, p.detail])).toEqual([
      ['https://a/1.jpg', 'auto'],
      ['https://a/2.jpg', 'auto'],
    ]);
    expect(parts.filter((p) => p.type === 'input_text').map((p) => p.text)).toContain('Additional information: Front bumper cracked');
  });

  it('sends a non-reasoning model its temperature and no reasoning parameters', async () => {
    const gpt = await startGateway({ env: { OPENAI_MODEL_VISION: 'gpt-4.1-mini', OPENAI_TEMPERATURE: '0.3', OPENAI_MAX_TOKENS: '900' } });
    try {
      const body = visionBody({ lotId: 'L', additionalInfo: null, imageUrls: [] }, gpt.env);
      expect(body).toMatchObject({ model: 'gpt-4.1-mini', temperature: 0.3, max_output_tokens: 900 });
      expect(body).not.toHaveProperty('reasoning');
      // Without additional info there is no "Additional information:" part at all.
      expect(
        partsOf(body)
          .map((p) => p.text ?? '')
          .join(' '),
      ).not.toMatch(/Additional information/);
      // The emulator rejects reasoning params for gpt-4.1-mini: success proves the body is acceptable.
      const result = await gpt.gateway.respond(body);
      expect(result).toMatchObject({ ok: true, text: expectedDescription(null, 0) });
    } finally {
      await gpt.close();
    }
  });

  it('is accepted by the emulator for o4-mini (which rejects temperature) and the text reflects the additional info', async () => {
    const urls = [`${ctx.images.base}/car-front.png`, `${ctx.images.base}/car-side.png`];
    const result = await ctx.fx.gateway.respond(visionBody({ lotId: 'LOT-2', additionalInfo: '  Hail damage on roof  ', imageUrls: urls }));
    expect(result).toMatchObject({ ok: true, text: expectedDescription('Hail damage on roof', 2) });
    expect(ctx.images.hits.get('/car-front.png')).toBe(1);
    expect(result.usage).toEqual({
      input_tokens: expect.any(Number),
      cached_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      reasoning_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
    });
    expect(result.usage.reasoning_tokens).toBeGreaterThan(0);
  });

  it('sends OPENAI_IMAGE_DETAIL as the detail of every input_image, and OPENAI_REASONING_MAX_OUTPUT_TOKENS as the budget', () => {
    for (const detail of ['low', 'high'] as const) {
      const env = { OPENAI_IMAGE_DETAIL: detail, OPENAI_REASONING_MAX_OUTPUT_TOKENS: '40000' };
      const body = visionBody({ lotId: 'L', additionalInfo: null, imageUrls: ['https://a/1.jpg', 'https://a/2.jpg'] }, env);
      expect(
        partsOf(body)
          .filter((p) => p.type === 'input_image')
          .map((p) => p.detail),
      ).toEqual([detail, detail]);
      expect(body.max_output_tokens).toBe(40_000);
      // An explicit budget (a lot's retry) wins.
      expect(visionBody({ lotId: 'L', additionalInfo: null, imageUrls: [] }, env, { maxOutputTokens: 80_000 }).max_output_tokens).toBe(
        80_000,
      );
    }
    expect(() => gatewayConfig(ctx.fx.emu.url, { OPENAI_IMAGE_DETAIL: 'original' })).toThrow(/OPENAI_IMAGE_DETAIL/);
  });

  it('doubles a budget cut at max_output_tokens, up to the model output limit', () => {
    expect(retryOutputBudget('o4-mini', 25_000)).toBe(50_000);
    expect(retryOutputBudget('o4-mini', 60_000)).toBe(100_000);
    expect(retryOutputBudget('o4-mini', 100_000)).toBeNull();
    expect(retryOutputBudget('gpt-5-mini', 100_000)).toBe(128_000);
    expect(retryOutputBudget('gpt-4.1-mini', 8_000)).toBe(16_000);
    expect(retryOutputBudget('gpt-4.1-mini', 32_768)).toBeNull();
    expect(modelOutputLimit('some-future-model')).toBeNull();
    expect(retryOutputBudget('some-future-model', 1000)).toBe(2000);
  });

  it('classifies reasoning models by family', () => {
    expect(['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5.1'].every(isReasoningModel)).toBe(true);
    expect(['gpt-4.1-mini', 'gpt-4o', 'chatgpt-4o-latest'].some(isReasoningModel)).toBe(false);
  });
});

describe('translation request', () => {
  const html = '<p>Front bumper cracked.</p><p>Left door dented.</p>';

  it('asks for one strict json_schema property per language, with the translation model and its temperature', () => {
    const body = translationBody({ html, languages: ['de', 'fr', 'pt-BR'] });
    expect(body).toMatchObject({ model: 'gpt-4.1-mini', temperature: 0.1 });
    expect(body).not.toHaveProperty('reasoning');
    expect(body.text).toEqual({
      format: {
        type: 'json_schema',
        name: 'translations',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            de: { type: 'string', description: expect.stringContaining('German') },
            fr: { type: 'string', description: expect.stringContaining('French') },
            'pt-BR': { type: 'string', description: expect.stringContaining('Portuguese') },
          },
          required: ['de', 'fr', 'pt-BR'],
          additionalProperties: false,
        },
      },
    });
    expect(String(body.instructions)).toMatch(/HTML tag/);
    expect(partsOf(body)).toEqual([{ type: 'input_text', text: html }]);
  });

  it('round-trips through the emulator: every language translated, tags preserved', async () => {
    const languages = ['de', 'ru', 'fr'];
    const result = await ctx.fx.gateway.respond(translationBody({ html, languages }));
    if (!result.ok) throw new Error(result.error);
    const parsed = parseTranslation(result.text, languages);
    expect(parsed).toEqual({
      ok: true,
      translations: Object.fromEntries(languages.map((l) => [l, `<p>[${l}] Front bumper cracked.</p><p>[${l}] Left door dented.</p>`])),
    });
  });

  it('refuses to build a request without languages', () => {
    expect(() => translationBody({ html, languages: [] })).toThrow(/at least one language/);
  });
});

describe('parseTranslation', () => {
  const parse = (text: string, languages: string[]) => parseTranslation(text, languages);

  it('returns only the requested languages', () => {
    expect(parse('{"de":"<p>a</p>","fr":"<p>b</p>","xx":"c"}', ['de', 'fr'])).toEqual({
      ok: true,
      translations: { de: '<p>a</p>', fr: '<p>b</p>' },
    });
  });

  it.each([
    ['not json', '<p>oops', /not valid JSON/],
    ['an array', '["de"]', /not a JSON object/],
    ['a missing language', '{"de":"<p>a</p>"}', /missing language\(s\): fr/],
    ['an empty language', '{"de":"<p>a</p>","fr":"  "}', /missing language\(s\): fr/],
    ['a non-string language', '{"de":"<p>a</p>","fr":{"text":"b"}}', /missing language\(s\): fr/],
    ['an inherited property name', '{"de":"<p>a</p>"}', /missing language\(s\): constructor/],
  ])('is an error for %s', (_name, text, message) => {
    const languages = _name === 'an inherited property name' ? ['de', 'constructor'] : ['de', 'fr'];
    const result = parse(text, languages);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('Nest wiring', () => {
  it('provides one OpenAiGateway built from the injected AppConfig', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(gatewayConfig(ctx.fx.emu.url, { OPENAI_MODEL_VISION: 'o3' })), OpenAiGatewayModule, VisionModule],
    }).compile();
    try {
      const gateway = moduleRef.get(OpenAiGateway);
      expect(gateway).toBe(moduleRef.get(OpenAiGateway));
      const vision = moduleRef.get(VisionService);
      expect(vision.request({ id: 'x', lotId: 'x', additionalInfo: null }, []).body.model).toBe('o3');
      const result = await gateway.respond(vision.request({ id: 'x', lotId: 'x', additionalInfo: 'wired' }, []).body);
      expect(result).toMatchObject({ ok: true, text: expectedDescription('wired', 0) });
    } finally {
      await moduleRef.close();
    }
  });
});
