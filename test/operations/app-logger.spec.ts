import { AppLogger, parsePrefix, type AppLoggerOptions } from '../../src/common/logging/app-logger.js';
import { withLogFields, withRequestScope, addLogFields } from '../../src/common/logging/log-context.js';
import { requestIdOf } from '../../src/common/logging/request-logging.middleware.js';
import { scrubSecrets } from '../../src/common/logging/redaction.js';
import { tracingSettings } from '../../src/config/app-config.js';
import { parseEnvironment } from '../../src/config/environment.js';

/** The logger on its own: formats, levels, Nest's calling convention, scopes, the prefix parser and the scrubber. */
function capture(options: Partial<AppLoggerOptions> = {}): { logger: AppLogger; lines: string[] } {
  const lines: string[] = [];
  const logger = new AppLogger({ level: 'info', json: true, destination: { write: (line: string) => void lines.push(line) }, ...options });
  return { logger, lines };
}
const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('AppLogger', () => {
  it('writes one JSON object per line with level, time, context and message', () => {
    const { logger, lines } = capture({ base: { role: 'worker' } });
    logger.log('hello', 'Jobs');
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(parsed(lines)[0]).toMatchObject({
      level: 'info',
      context: 'Jobs',
      message: 'hello',
      role: 'worker',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('writes a readable single line in development, fields after the message', () => {
    const { logger, lines } = capture({ json: false });
    withRequestScope(
      'req-1',
      () => 'client-a',
      () => withLogFields({ job_id: 'job-1', stage: 'vision_analysis' }, () => logger.warn('batch late', 'Pipeline')),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[Pipeline\] batch late · request_id=req-1 client_id=client-a job_id=job-1 stage=vision_analysis\n$/,
    );
    expect(lines[0]).not.toContain('{');
  });

  it('honours the level, and Nest’s level list', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.log('dropped', 'X');
    logger.debug('dropped', 'X');
    logger.warn('kept', 'X');
    logger.setLogLevels(['debug', 'log', 'warn', 'error']);
    logger.debug('now kept', 'X');
    logger.verbose('still dropped', 'X');
    expect(parsed(lines).map((line) => line.message)).toEqual(['kept', 'now kept']);
  });

  it('reads error(message, stack, context) and error(message, context) as Nest passes them', () => {
    const { logger, lines } = capture();
    const stack = 'Error: boom\n    at somewhere (file.ts:1:1)';
    logger.error('failed', stack, 'Pipeline');
    logger.error('failed again', 'Pipeline');
    logger.error('failed once more', undefined, 'Pipeline');
    logger.error(new Error('thrown'), 'Errors');
    const [withStack, plain, undefinedStack, thrown] = parsed(lines);
    expect(withStack).toMatchObject({ message: 'failed', context: 'Pipeline', stack });
    expect(plain).toMatchObject({ message: 'failed again', context: 'Pipeline' });
    expect(plain.stack).toBeUndefined();
    expect(undefinedStack).toMatchObject({ message: 'failed once more', context: 'Pipeline' });
    expect(thrown).toMatchObject({ message: 'thrown', context: 'Errors', stack: expect.stringContaining('Error: thrown') });
  });

  it('takes fields from an entry object, from the scope, and from an old-style key=value prefix', () => {
    const { logger, lines } = capture();
    logger.log({ message: 'accepted: 2 lots', job_id: 'j1', client_id: 'c1' }, 'Jobs');
    withLogFields({ job_id: 'j2', stage: 'translation' }, () => {
      addLogFields({ openai_batch_id: 'batch_1' });
      logger.log('ingested', 'BatchIngestion');
    });
    logger.log('job_id=j3 client_id=c3 cancelled by the client', 'Jobs');
    logger.log('webhook w1 job_id=j4 attempt 1', 'Webhooks');
    const [entry, scoped, prefixed, inner] = parsed(lines);
    expect(entry).toMatchObject({ message: 'accepted: 2 lots', job_id: 'j1', client_id: 'c1' });
    expect(scoped).toMatchObject({ message: 'ingested', job_id: 'j2', stage: 'translation', openai_batch_id: 'batch_1' });
    expect(prefixed).toMatchObject({ message: 'cancelled by the client', job_id: 'j3', client_id: 'c3' });
    expect(inner).toMatchObject({ message: 'webhook w1 job_id=j4 attempt 1' });
    expect(inner.job_id).toBeUndefined();
  });

  it('keeps scopes apart across concurrent async work', async () => {
    const { logger, lines } = capture();
    const step = (jobId: string, delay: number) =>
      withLogFields({ job_id: jobId }, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (delay) await new Promise((resolve) => setImmediate(resolve));
        logger.log(`step of ${jobId}`, 'Pipeline');
      });
    await Promise.all([step('a', 1), step('b', 0)]);
    for (const line of parsed(lines)) expect(line.message).toBe(`step of ${String(line.job_id)}`);
    expect(lines).toHaveLength(2);
  });

  it('scrubs known secrets and secret-shaped values from messages, fields and stacks', () => {
    const { logger, lines } = capture({ secrets: ['a-very-secret-shared-key-value'] });
    logger.error(
      { message: 'upstream said Incorrect API key sk-abc123def456', detail: 'key a-very-secret-shared-key-value' },
      'Error: Bearer eyJhbGciOi.x.y\n    at f (a.ts:1:1)',
      'Probe',
    );
    const [line] = parsed(lines);
    expect(line).toMatchObject({
      message: 'upstream said Incorrect API key sk-[REDACTED]',
      detail: 'key [REDACTED]',
      stack: expect.stringContaining('Bearer [REDACTED]'),
    });
    expect(lines[0]).not.toMatch(/abc123def456|a-very-secret|eyJhbGciOi/);
  });
});

describe('scrubSecrets', () => {
  it.each([
    ['sk-proj-AbC_123-xyz', 'sk-[REDACTED]'],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_[REDACTED]'],
    [`sha256=${'ab'.repeat(32)}`, 'sha256=[REDACTED]'],
    [`v1,${'A'.repeat(43)}=`, 'v1,[REDACTED]'],
    [`sig1=:${'Q'.repeat(43)}=:`, 'sig1=:[REDACTED]:'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer [REDACTED]'],
  ])('%s → %s', (input, output) => {
    expect(scrubSecrets(input)).toBe(output);
  });

  it('leaves ordinary text alone', () => {
    const text = 'vision submitted as 1 batch(es), attempt 1 (task-runner, risk-free); Basic damage: scratches';
    expect(scrubSecrets(text)).toBe(text);
  });
});

describe('parsePrefix', () => {
  it('maps batch_id to openai_batch_id and stops at the first non-field word', () => {
    expect(parsePrefix('batch_id=batch_1: done')).toEqual({ message: 'done', fields: { openai_batch_id: 'batch_1' } });
    expect(parsePrefix('no fields here')).toEqual({ message: 'no fields here', fields: {} });
  });
});

describe('requestIdOf', () => {
  it('keeps a sane incoming id and replaces anything else', () => {
    expect(requestIdOf('abc-123_DEF.4:5')).toBe('abc-123_DEF.4:5');
    expect(requestIdOf(['first', 'second'])).toBe('first');
    for (const bad of [undefined, '', 'x'.repeat(129), 'has space', 'line\nbreak', '{"json":1}'])
      expect(requestIdOf(bad)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(requestIdOf('x'.repeat(128))).toBe('x'.repeat(128));
  });
});

describe('tracingSettings', () => {
  const settings = (env: Record<string, string>) => tracingSettings(parseEnvironment(env));
  it('is off unless an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp is set', () => {
    expect(settings({})).toEqual({ enabled: false, serviceName: 'generation-service' });
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      enabled: true,
      serviceName: 'generation-service',
    });
    expect(settings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'gs-worker' })).toEqual({ enabled: true, serviceName: 'gs-worker' });
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
  });
});
