import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnvironment } from '../../src/config/environment.js';
import { startImageServer, type ImageServer } from '../emulator/helpers.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/emulator.js';
import { OpenAiGateway, type OpenAiGatewayOptions } from '../../src/openai/openai-gateway.service.js';
import type { BatchSnapshot, BatchStageName, GatewayRequest, SubmittedBatch } from '../../src/openai/openai-gateway.types.js';
import type { RequestOverrides } from '../../src/openai/model-budget.js';
import { buildTranslationRequest, type TranslationInput } from '../../src/translation/translation-request.builder.js';
import { buildVisionRequest, type VisionInput } from '../../src/vision/vision-request.builder.js';

export const EMULATOR_KEY = 'sk-gateway-test-key';

// The gateway logs every batch and retry; keep test output to errors unless asked (TEST_LOG_LEVEL=debug).
if (!process.env.TEST_LOG_LEVEL) Logger.overrideLogger(['error']);

/** An AppConfig as start-up builds it, pointing OpenAI at `baseUrl`. */
export function gatewayConfig(baseUrl: string, env: Record<string, string> = {}): AppConfig {
  const parsed = parseEnvironment({ NODE_ENV: 'test', OPENAI_API_KEY: EMULATOR_KEY, OPENAI_BASE_URL: baseUrl, LOG_LEVEL: 'ERROR', ...env });
  return new AppConfig(parsed, {
    databaseUrl: 'postgres://unused/unused',
    embeddedDatabase: false,
    openaiApiKey: parsed.OPENAI_API_KEY!,
    openaiBaseUrl: parsed.OPENAI_BASE_URL,
    offline: false,
    sharedKey: 'unused-shared-key-unused-shared-key',
    sharedKeyGenerated: false,
  });
}

export interface GatewayFixture {
  emu: RunningEmulator;
  /** The settings the gateway was started with (build request bodies with them: visionBody(input, fx.env)). */
  env: Record<string, string>;
  gateway: OpenAiGateway;
  config: AppConfig;
  close(): Promise<void>;
}

/** A real emulator on loopback and a gateway talking to it over HTTP. Fast retries unless told otherwise. */
export async function startGateway(
  setup: { env?: Record<string, string>; options?: OpenAiGatewayOptions; emulator?: EmulatorOptions } = {},
): Promise<GatewayFixture> {
  const emu = await startEmulator({ apiKey: EMULATOR_KEY, batchDurationMs: 100, ...setup.emulator });
  const gateway = newGateway(emu.url, setup.env, setup.options);
  return { emu, gateway, env: setup.env ?? {}, config: gatewayConfig(emu.url, setup.env), close: () => emu.close() };
}

/** A gateway for `baseUrl` (the emulator, or a proxy in front of it) with fast retries unless told otherwise. */
export function newGateway(baseUrl: string, env: Record<string, string> = {}, options: OpenAiGatewayOptions = {}): OpenAiGateway {
  return new OpenAiGateway(gatewayConfig(baseUrl, env), { retry: { baseDelayMs: 20, maxDelayMs: 100 }, ...options });
}

/** A vision request body as VisionService builds it, for the settings of `env`. */
export function visionBody(input: VisionInput, env: Record<string, string> = {}, overrides?: RequestOverrides) {
  return buildVisionRequest(gatewayConfig('http://127.0.0.1/v1', env).openai, input, overrides);
}

/** A translation request body as TranslationService builds it, for the settings of `env`. */
export function translationBody(input: TranslationInput, env: Record<string, string> = {}, overrides?: RequestOverrides) {
  return buildTranslationRequest(gatewayConfig('http://127.0.0.1/v1', env).openai, input, overrides);
}

/** Submits every part, calling `onCreated` for each batch in the loop body, as the pipeline records it. */
export async function submitAll(
  gateway: OpenAiGateway,
  args: {
    jobId: string;
    stage: BatchStageName;
    requests: AsyncIterable<GatewayRequest> | Iterable<GatewayRequest>;
    onCreated?: (batch: SubmittedBatch) => Promise<void>;
  },
): Promise<SubmittedBatch[]> {
  const submitted: SubmittedBatch[] = [];
  for await (const batch of gateway.submitBatches(args.requests, { jobId: args.jobId, stage: args.stage })) {
    submitted.push(batch);
    await args.onCreated?.(batch);
  }
  return submitted;
}

const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

/** Polls the batch through the gateway until it is terminal (or `until` holds), failing after the deadline. */
export async function waitForBatch(
  gateway: OpenAiGateway,
  id: string,
  until: (b: BatchSnapshot) => boolean = (b) => TERMINAL.includes(b.status),
  deadlineMs = 10_000,
): Promise<BatchSnapshot> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const batch = await gateway.retrieveBatch(id);
    if (until(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The emulator's text for a description request (src/emulator/README.md, "Deterministic text"). */
export function expectedDescription(info: string | null, images: number): string {
  const second =
    images === 0
      ? 'No photos were provided; this assessment relies on the description only.'
      : 'The photos are consistent with the description; no further damage is visible.';
  return `<p>Damage assessment of ${images} image(s): ${info ?? 'No additional information provided.'}</p><p>${second}</p>`;
}

/**
 * Registers beforeAll/afterAll hooks for a gateway fixture and a loopback image
 * server; read `ctx.fx` and `ctx.images` inside tests.
 */
export function useGatewayWithImages(): { fx: GatewayFixture; images: ImageServer } {
  const ctx = {} as { fx: GatewayFixture; images: ImageServer };
  beforeAll(async () => {
    ctx.fx = await startGateway();
    ctx.images = await startImageServer();
  });
  afterAll(async () => {
    await ctx.fx?.close();
    await ctx.images?.close();
  });
  return ctx;
}
