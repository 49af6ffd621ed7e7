import { writeFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { sign } from '../../src/auth/hmac.js';
import { AppLogger } from '../../src/common/logging/app-logger.js';
import { canonicalJson } from '../../src/common/json/canonical-json.js';
import { startTracing, type Tracing } from '../../src/common/tracing/tracing.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { pipelineEnv, startImageHost, tickUntil, waitFor } from '../pipeline/pipeline-support.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';

/**
 * One batch job through the whole service — POST, worker stages against the
 * emulator, webhook — with the service's own logger writing JSON lines into
 * an array and the OpenTelemetry SDK exporting into memory: the lines carry
 * the request id and the job's fields and no secret, the spans chain as the
 * pipeline does.
 */
interface Line {
  level: string;
  message: string;
  context?: string;
  request_id?: string;
  client_id?: string;
  job_id?: string;
  stage?: string;
  openai_batch_id?: string;
  trace_id?: string;
  span_id?: string;
  route?: string | null;
  status?: number;
  [field: string]: unknown;
}

const REQUEST_ID = 'req-obs-0001';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
/** A signed image URL's token: it must not reach a span. */
const IMAGE_TOKEN = 'img-token-5f3a9c';

describe('one job, observed: log lines and trace', () => {
  const raw: string[] = [];
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let emu: RunningEmulator;
  let images: LoopbackServer;
  let receiver: LoopbackServer;
  let app: TestApp;
  let jobId: string;
  let signature: string;
  let postResponse: Response;

  const lines = (): Line[] => raw.map((line) => JSON.parse(line) as Line);
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const jobSpans = () => spans().filter((span) => span.attributes.job_id === jobId);

  /**
   * The job's log lines (JSON, as written) and its spans as an indented tree, the creating request first, then the
   * roots in time order; of the polls (a line and a trace each) only the first is kept.
   */
  const sample = () => {
    const POLL = '/api/v1/batch-status/:job_id';
    const isPoll = (line: string) => line.includes(`"route":"${POLL}"`);
    const related = raw.filter((line) => line.includes(jobId) || line.includes(REQUEST_ID));
    const polls = related.filter(isPoll);
    const kept = related.filter((line) => !isPoll(line) || line === polls[0]);
    const all = spans();
    const traces = new Set(
      all.filter((span) => span.attributes.job_id === jobId || span.spanContext().traceId === TRACE_ID).map((s) => s.spanContext().traceId),
    );
    const inTraces = all.filter((span) => traces.has(span.spanContext().traceId));
    const tree: string[] = [];
    const print = (span: ReadableSpan, depth: number) => {
      const attrs = Object.entries(span.attributes)
        .filter(([key]) =>
          ['job_id', 'stage', 'openai.batch_id', 'http.route', 'http.response.status_code', 'webhook.outcome', 'url.full'].includes(key),
        )
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' ');
      const links = span.links.map((link) => ` → link ${link.context.traceId.slice(0, 8)}…/${link.context.spanId}`).join('');
      tree.push(
        `${'  '.repeat(depth)}${span.name} [trace ${span.spanContext().traceId.slice(0, 8)}… span ${span.spanContext().spanId}] ${attrs}${links}`,
      );
      for (const child of inTraces.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId)) print(child, depth + 1);
    };
    const startOf = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];
    const roots = inTraces
      .filter((span) => !span.parentSpanContext || span.parentSpanContext.spanId === CALLER_SPAN_ID)
      .sort(
        (a, b) =>
          Number(b.parentSpanContext?.spanId === CALLER_SPAN_ID) - Number(a.parentSpanContext?.spanId === CALLER_SPAN_ID) ||
          startOf(a) - startOf(b),
      );
    const pollRoots = roots.filter((span) => span.attributes['http.route'] === POLL);
    for (const root of roots) if (root.attributes['http.route'] !== POLL || root === pollRoots[0]) print(root, 0);
    const more = `(and ${polls.length - 1} more poll line(s), ${pollRoots.length - 1} more poll trace(s) like the first)`;
    return `${kept.join('')}${more}\n\n${tree.join('\n')}\n${more}\n`;
  };

  beforeAll(async () => {
    tracing = startTracing({ enabled: true, serviceName: 'generation-service-test' }, { exporter });
    emu = await startEmulator({ port: 0, batchDurationMs: 100 });
    images = await startImageHost();
    receiver = await startLoopbackServer((_request, response) => response.writeHead(200).end('ok'));
    const logger = new AppLogger({ level: 'debug', json: true, destination: { write: (line: string) => void raw.push(line) } });
    // Ticks 2 s apart: the first step after the POST is run by the POST's wake-up (inside the request, were it not detached).
    app = await startTestApp({ env: pipelineEnv({ WORKER_POLL_INTERVAL: '2' }), openaiBaseUrl: emu.url, logger });

    const lots = [
      {
        lot_id: 'car-1',
        webhook: `${receiver.url}/hooks`,
        additional_info: '2019 Audi A4, scratched door',
        images: [{ url: `${images.url}/img/a.jpg?sig=${IMAGE_TOKEN}` }],
      },
      { lot_id: 'car-2', additional_info: '2020 VW Golf, dented bumper', images: [{ url: `${images.url}/img/b.jpg` }] },
    ];
    signature = sign(TEST_SHARED_KEY, canonicalJson(lots));
    postResponse = await app.postLots(
      { version: '1.0.0', languages: ['en', 'de'], lots },
      { headers: { 'X-Request-Id': REQUEST_ID, traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` } },
    );
    expect(postResponse.status).toBe(201);
    jobId = ((await postResponse.json()) as { job_id: string }).job_id;
    // The first step is the POST's wake-up's (the interval is 2 s away): its lines and spans must not be the request's.
    await waitFor(async () => lines().some((line) => line.context === 'Pipeline' && line.job_id === jobId), { what: 'the first step' });
    await tickUntil(
      app,
      async () => {
        const response = await app.getJob(`/api/v1/batch-status/${jobId}`, jobId);
        const body = (await response.json()) as { status: string };
        return body.status === 'completed' && receiver.to('/hooks').length > 0 && jobSpans().some((s) => s.name === 'webhook.deliver');
      },
      { what: 'the job to complete and its webhook to be sent' },
    );
    await app.fetch('/health/live');
  });

  afterAll(async () => {
    // OBSERVABILITY_SAMPLE=<file>: keeps this job's lines and spans (the sample in the README's runbook came from here).
    if (process.env.OBSERVABILITY_SAMPLE && jobId) writeFileSync(process.env.OBSERVABILITY_SAMPLE, sample());
    await app?.close();
    await tracing?.shutdown();
    await Promise.all([emu?.close(), images?.close(), receiver?.close()]);
  });

  describe('log lines', () => {
    it('echoes the caller’s request id and puts it on the request’s lines: the access line and the service’s own', () => {
      expect(postResponse.headers.get('x-request-id')).toBe(REQUEST_ID);
      const ofRequest = lines().filter((line) => line.request_id === REQUEST_ID);
      const access = ofRequest.find((line) => line.context === 'Http');
      expect(access).toMatchObject({
        level: 'info',
        method: 'POST',
        route: '/api/v1/generate-descriptions',
        status: 201,
        client_id: 'default',
      });
      expect(access!.duration_ms).toEqual(expect.any(Number));
      const accepted = ofRequest.find((line) => line.context === 'Jobs');
      expect(accepted).toMatchObject({ level: 'info', job_id: jobId, client_id: 'default' });
      expect(accepted!.message).toMatch(/^accepted: 2 lots, languages en,de$/);
      // One access line per request, and the request's lines all carry the same trace as its server span.
      expect(ofRequest.filter((line) => line.context === 'Http')).toHaveLength(1);
      expect(new Set(ofRequest.map((line) => line.trace_id))).toEqual(new Set([TRACE_ID]));
    });

    it('generates a request id when the caller sends none or an unusable one', async () => {
      const none = await app.fetch('/health/live');
      expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const hostile = await app.fetch('/health/live', { headers: { 'X-Request-Id': `${'x'.repeat(129)}` } });
      expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const injected = await app.fetch('/health/live', { headers: { 'X-Request-Id': 'a"b{}' } });
      expect(injected.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('writes the worker’s lines with job_id, client_id and stage as fields, not in the message', () => {
      const pipeline = lines().filter((line) => line.context === 'Pipeline' && line.job_id === jobId);
      const stages = new Set(pipeline.map((line) => line.stage));
      expect([...stages]).toEqual(expect.arrayContaining(['queued', 'vision_submitting', 'translation_submitting']));
      for (const line of pipeline) {
        expect(line).toMatchObject({ client_id: 'default', job_id: jobId });
        expect(line.message).not.toMatch(/job_id=/);
      }
      // The in-process worker is woken by the POST, but its lines are not the request's.
      for (const line of pipeline) expect(line.request_id).toBeUndefined();
      expect(pipeline.map((line) => line.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^job completed \(2 lots completed/)]),
      );
    });

    it('names the OpenAI batch on the lines about it', () => {
      const ingested = lines().filter((line) => line.context === 'BatchIngestion' && line.job_id === jobId);
      expect(ingested).toHaveLength(2);
      for (const line of ingested) expect(line.openai_batch_id).toMatch(/^batch_/);
      const submitted = lines().filter((line) => line.context === 'OpenAiGateway' && line.job_id === jobId);
      expect(submitted.map((line) => line.openai_batch_id)).toEqual(ingested.map((line) => line.openai_batch_id));
    });

    it('puts the job id on the polling routes’ access lines and the webhook’s line', () => {
      const polls = lines().filter((line) => line.context === 'Http' && line.route === '/api/v1/batch-status/:job_id');
      expect(polls.length).toBeGreaterThan(0);
      for (const poll of polls) expect(poll).toMatchObject({ job_id: jobId, client_id: 'default', status: 200 });
      const webhook = lines().find((line) => line.context === 'Webhooks' && /delivered$/.test(line.message));
      expect(webhook).toMatchObject({ job_id: jobId, level: 'info' });
    });

    it('logs probes at debug only', () => {
      const probes = lines().filter((line) => line.context === 'Http' && line.route === '/health/live');
      expect(probes.length).toBeGreaterThan(0);
      for (const probe of probes) expect(probe.level).toBe('debug');
    });

    it('never writes SHARED_KEY, a request signature or the OpenAI key', () => {
      const all = raw.join('');
      expect(all).toContain(jobId); // the capture is the real one
      expect(all).not.toContain(TEST_SHARED_KEY);
      expect(all).not.toContain(signature);
      expect(all).not.toContain(signature.slice('sha256='.length));
      expect(all).not.toContain(app.config.openai.apiKey);
      const webhookSignature = receiver.to('/hooks')[0].headers['x-signature'] as string;
      expect(webhookSignature).toMatch(/^sha256=/);
      expect(all).not.toContain(webhookSignature.slice('sha256='.length));
    });

    it('scrubs secrets that a message or a field would carry', () => {
      const before = raw.length;
      const logger = new Logger('Probe');
      logger.warn(`OpenAI said: Incorrect API key provided: sk-proj-abcdefghijklmnop1234 (shared ${TEST_SHARED_KEY})`);
      logger.log({
        message: `receiver secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw signed ${signature}`,
        headers: { authorization: 'Bearer abc.def', cookie: 'session=1', 'x-signature': signature, 'signature-input': 'sig1=("@method")' },
      });
      const written = raw.slice(before).join('');
      expect(written).not.toMatch(/sk-proj-abcdefghijklmnop1234|MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw|abc\.def|session=1|sig1=/);
      expect(written).not.toContain(TEST_SHARED_KEY);
      expect(written).not.toContain(signature);
      const [warned, logged] = raw.slice(before).map((line) => JSON.parse(line) as Line);
      expect(warned.message).toBe('OpenAI said: Incorrect API key provided: sk-[REDACTED] (shared [REDACTED])');
      expect(logged.headers).toEqual({
        authorization: '[REDACTED]',
        cookie: '[REDACTED]',
        'x-signature': '[REDACTED]',
        'signature-input': '[REDACTED]',
      });
    });
  });

  describe('trace', () => {
    const byId = () => new Map(spans().map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: ReadableSpan) => span.parentSpanContext && byId().get(span.parentSpanContext.spanId);

    it('makes the caller’s traceparent the parent of the request’s server span', () => {
      const server = spans().find((span) => span.name === 'POST /api/v1/generate-descriptions');
      expect(server).toBeDefined();
      expect(server!.spanContext().traceId).toBe(TRACE_ID);
      expect(server!.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
      expect(server!.attributes).toMatchObject({ 'http.route': '/api/v1/generate-descriptions', 'http.response.status_code': 201 });
    });

    it('has one pipeline.stage span per step, with the job, the stage and (while waiting) the OpenAI batch', () => {
      const steps = jobSpans().filter((span) => span.name === 'pipeline.stage');
      const stages = steps.map((span) => span.attributes.stage);
      expect(stages).toEqual(
        expect.arrayContaining(['queued', 'vision_submitting', 'vision_analysis', 'translation_submitting', 'translation']),
      );
      for (const step of steps) {
        expect(step.attributes).toMatchObject({ job_id: jobId, client_id: 'default' });
        expect(step.parentSpanContext).toBeUndefined(); // a trace of its own, even when the POST woke the worker
      }
      const waiting = steps.filter((span) => span.attributes.stage === 'vision_analysis');
      for (const step of waiting) expect(step.attributes['openai.batch_id']).toMatch(/^batch_/);
    });

    it('hangs the OpenAI calls under the step that made them, each with its batch', () => {
      const created = spans().filter((span) => span.name === 'openai.batches.create' && span.attributes.job_id === jobId);
      expect(created).toHaveLength(2);
      for (const span of created) {
        const step = parentOf(span);
        expect(step?.name).toBe('pipeline.stage');
        expect(step?.attributes.stage).toBe(span.attributes.stage === 'vision' ? 'vision_submitting' : 'translation_submitting');
        expect(span.attributes['openai.batch_id']).toMatch(/^batch_/);
        expect(span.spanContext().traceId).toBe(step!.spanContext().traceId);
      }
      const retrieved = spans().filter((span) => span.name === 'openai.batches.retrieve');
      expect(retrieved.length).toBeGreaterThan(0);
      for (const span of retrieved) {
        const step = parentOf(span);
        expect(step?.attributes.stage).toMatch(/^(vision_analysis|translation)$/);
        expect(span.attributes['openai.batch_id']).toMatch(/^batch_/);
      }
      const content = spans().filter((span) => span.name === 'openai.files.content');
      for (const span of content) expect(parentOf(span)?.name).toBe('pipeline.stage');
    });

    it('links every step of the job to the request that created it', () => {
      const server = spans().find((span) => span.name === 'POST /api/v1/generate-descriptions')!;
      const steps = jobSpans().filter((span) => span.name === 'pipeline.stage');
      expect(steps.length).toBeGreaterThanOrEqual(5);
      for (const step of steps) {
        expect(step.spanContext().traceId).not.toBe(TRACE_ID); // a trace of its own…
        expect(step.links.map((link) => link.context)).toEqual([
          expect.objectContaining({ traceId: TRACE_ID, spanId: server.spanContext().spanId }), // …linked to the POST
        ]);
      }
    });

    it('has a span per PostgreSQL query under the request and the steps, named by the statement’s summary, without values', () => {
      const queries = spans().filter((span) => span.attributes['db.system.name'] === 'postgresql');
      const server = spans().find((span) => span.name === 'POST /api/v1/generate-descriptions')!;
      const ofRequest = queries.filter((span) => span.parentSpanContext?.spanId === server.spanContext().spanId);
      expect(ofRequest.map((span) => span.name)).toEqual(expect.arrayContaining(['INSERT batch_jobs', 'INSERT batch_lots', 'COMMIT']));
      const insert = ofRequest.find((span) => span.name === 'INSERT batch_jobs')!;
      expect(insert.kind).toBe(SpanKind.CLIENT);
      expect(insert.attributes).toMatchObject({
        'db.system': 'postgresql',
        'db.operation.name': 'INSERT',
        'db.collection.name': 'batch_jobs',
        'db.query.summary': 'INSERT batch_jobs',
        'db.response.returned_rows': 1,
      });
      const stepIds = new Set(
        jobSpans()
          .filter((span) => span.name === 'pipeline.stage')
          .map((span) => span.spanContext().spanId),
      );
      expect(queries.some((span) => span.name === 'SELECT batch_lots' && stepIds.has(span.parentSpanContext?.spanId ?? ''))).toBe(true);
      // No query starts a trace (pool housekeeping, the worker's claim polls outside a step): each is some span's child.
      for (const span of queries) expect(span.parentSpanContext).toBeDefined();
      // Neither the statement's text nor its parameters: no lot's data, no job id.
      const attributes = JSON.stringify(queries.map((span) => span.attributes));
      expect(attributes).not.toContain('Audi');
      expect(attributes).not.toContain(jobId);
      expect(attributes).not.toMatch(/\$1|VALUES/i);
    });

    it('has a client span per outbound request: image checks without their query string, webhooks with a traceparent', () => {
      const outbound = spans().filter((span) => span.kind === SpanKind.CLIENT && span.attributes['http.request.method'] !== undefined);
      const imageChecks = outbound.filter((span) => String(span.attributes['url.full']).startsWith(`${images.url}/img/`));
      expect(imageChecks.map((span) => span.attributes['url.full']).sort()).toEqual([`${images.url}/img/a.jpg`, `${images.url}/img/b.jpg`]);
      for (const span of imageChecks) {
        expect(span.attributes).toMatchObject({
          'http.request.method': 'GET',
          'http.response.status_code': 200,
          'server.address': '127.0.0.1',
          'server.port': images.port,
        });
        expect(parentOf(span)).toMatchObject({ name: 'pipeline.stage', attributes: expect.objectContaining({ job_id: jobId }) });
      }
      expect(JSON.stringify(spans().map((span) => span.attributes))).not.toContain(IMAGE_TOKEN);
      // Image hosts never learn our trace; the webhook receiver gets the client span's context.
      expect(images.requests.filter((request) => request.path.startsWith('/img/a.jpg'))).not.toHaveLength(0);
      for (const request of images.requests) expect(request.headers.traceparent).toBeUndefined();
      const post = outbound.find((span) => span.attributes['url.full'] === `${receiver.url}/hooks`)!;
      expect(post.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
      expect(parentOf(post)?.name).toBe('webhook.deliver');
      const { traceId, spanId } = post.spanContext();
      expect(receiver.to('/hooks')[0].headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    });

    it('has a webhook.deliver span with the delivery’s outcome', () => {
      const delivery = jobSpans().find((span) => span.name === 'webhook.deliver');
      expect(delivery?.attributes).toMatchObject({
        'webhook.outcome': 'delivered',
        'http.response.status_code': 200,
        'webhook.attempt': 1,
      });
    });

    it('writes trace and span ids into the lines logged inside a span', () => {
      const submitted = lines().find((line) => line.context === 'Pipeline' && line.job_id === jobId && /submitted as/.test(line.message));
      expect(submitted?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      const step = byId().get(submitted!.span_id!);
      expect(step).toMatchObject({ name: 'pipeline.stage' });
      expect(step!.spanContext().traceId).toBe(submitted!.trace_id);
    });
  });
});
