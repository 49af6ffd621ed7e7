/**
 * `generation` (`npm run cli -- …`): the Generation Service from a terminal, over the generated client.
 *
 * Exit codes: 0 done (for `poll`/`demo`: the job completed); 2 the job failed or was cancelled; 3 `poll` timed out;
 * 1 anything else (usage, network, an API refusal — its `message` and `code` are printed).
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  GenerationApiError,
  GenerationClient,
  JobNotCompletedError,
  JobOutcomeError,
  type ClientAuth,
  type GenerateRequest,
  type JobListQuery,
  type JobResults,
  type JobStatus,
} from '../../client/generation-client.js';
import { createProgressView, type ProgressMode } from './progress.js';
import { jobsTable, resultsTable } from './tables.js';

export const EXIT = { ok: 0, error: 1, jobUnsuccessful: 2, timeout: 3 } as const;

/** A usage problem found after parsing (missing credentials, an unreadable file): exit 1 with the message. */
class UsageError extends Error {}

interface GlobalOptions {
  url: string;
  json?: boolean;
}

/** Credentials from the environment: a client key (v2) first, SHARED_KEY (seed scheme) otherwise. */
export function authFromEnv(env: NodeJS.ProcessEnv): ClientAuth {
  const keyId = env.GS_KEY_ID;
  if (keyId && env.GS_SECRET) return { keyId, secret: env.GS_SECRET };
  if (keyId && env.GS_PRIVATE_KEY_FILE) return { keyId, privateKey: readFileSync(env.GS_PRIVATE_KEY_FILE, 'utf8') };
  if (env.SHARED_KEY) return env.SHARED_KEY;
  throw new UsageError(
    'no credentials: set GS_KEY_ID with GS_SECRET (HMAC key) or GS_PRIVATE_KEY_FILE (Ed25519 PEM) for Signature v2, or SHARED_KEY for the seed scheme',
  );
}

const positive = (unit: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError(`expected a positive number of ${unit}`);
  return number;
};
const count = (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('expected a whole number');
  return number;
};

const write = (line: string) => process.stdout.write(line + '\n');

function progressMode(options: GlobalOptions): ProgressMode {
  if (options.json) return 'json';
  return process.stdout.isTTY ? 'bar' : 'lines';
}

/** The languages the results hold, in order of first appearance. */
function languagesOf(results: JobResults): string[] {
  return [...new Set(results.results.lots.flatMap((lot) => lot.descriptions.map((description) => description.language)))];
}

interface WatchPlan {
  intervalSeconds: number;
  timeoutMinutes: number;
  download?: string;
}

/**
 * Reference 003's poller: polls with a progress view until the job is terminal, then optionally downloads the
 * results (a failed or cancelled job's partial results too). Returns the exit code.
 */
async function watchJob(
  client: GenerationClient,
  jobId: string,
  plan: WatchPlan,
  options: GlobalOptions,
): Promise<{ code: number; last?: JobStatus }> {
  const view = createProgressView(progressMode(options), process.stdout);
  let last: JobStatus | undefined;
  try {
    last = await client.watch(jobId, {
      intervalMs: plan.intervalSeconds * 1000,
      timeoutMs: plan.timeoutMinutes * 60_000,
      onStatus: (status) => view.update(status),
    });
  } catch (error) {
    view.stop();
    if (!(error instanceof JobOutcomeError)) throw error;
    if (options.json) write(JSON.stringify({ job_id: jobId, outcome: 'timeout', status: error.lastStatus.status }));
    else write(`timed out after ${plan.timeoutMinutes} min: job ${jobId} is still ${error.lastStatus.status}`);
    return { code: EXIT.timeout, last: error.lastStatus };
  }
  view.stop();
  const outcome = last.status;
  let saved: { file: string; bytes: number } | undefined;
  if (plan.download) saved = { file: plan.download, bytes: await client.download(jobId, plan.download) };
  const { processed_lots: processed, failed_lots: failed, total_lots: total } = last.progress;
  const reason: unknown = last.error_message;
  if (options.json) {
    write(
      JSON.stringify({
        job_id: jobId,
        outcome,
        processed_lots: processed,
        failed_lots: failed,
        total_lots: total,
        error_message: reason ?? null,
        download: saved ?? null,
      }),
    );
  } else {
    write(
      `job ${jobId} ${outcome}: ${processed} processed, ${failed} failed of ${total} lots${typeof reason === 'string' ? ` (${reason})` : ''}`,
    );
    if (saved) write(`results saved to ${saved.file} (${saved.bytes} bytes)`);
  }
  return { code: outcome === 'completed' ? EXIT.ok : EXIT.jobUnsuccessful, last };
}

/**
 * A string for a nullable string field of the request. The document currently declares those fields as
 * `object, nullable` (issue 12), so the generated type is not `string`; once it says `string` this is a no-op.
 */
const text = (value: string) => value;

/** The sample lots of `demo`: one per image (at least two, so that the request is a batch). */
export function demoRequest(images: string[], languages: string[]): GenerateRequest {
  const vehicles = [
    '2019 Mercedes C-Class, rear bumper damage',
    '2017 Toyota Camry, front-left collision',
    '2020 BMW 3 Series, side scrapes',
  ];
  const urls = images.length === 1 ? [images[0], images[0]] : images;
  return {
    version: '1.0.0',
    languages,
    lots: urls.map((url, index) => ({
      lot_id: `demo-${index + 1}`,
      additional_info: text(vehicles[index % vehicles.length]),
      images: [{ url }],
    })),
  };
}

export function buildProgram(): Command {
  const program = new Command('generation')
    .description('Generation Service client: submit batches, poll them with a progress bar, fetch results.')
    .addOption(new Option('--url <url>', 'service base URL').env('GS_URL').default('http://localhost:5000'))
    .option('--json', 'machine output: JSON on stdout (one object per poll for poll/demo)')
    .addHelpText(
      'after',
      '\nCredentials (environment): GS_KEY_ID + GS_SECRET (Signature v2, HMAC), GS_KEY_ID + GS_PRIVATE_KEY_FILE (v2, Ed25519),\n' +
        'or SHARED_KEY (seed scheme).\nExit codes: 0 ok / job completed, 2 job failed or cancelled, 3 poll timed out, 1 any other error.',
    )
    .showHelpAfterError();

  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions>();
  const clientFor = (options: GlobalOptions) => new GenerationClient(options.url, authFromEnv(process.env));
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number | void>) =>
    async (...args: A) => {
      const command = args[args.length - 1] as Command;
      process.exitCode = await action(...args).then(
        (code) => code ?? EXIT.ok,
        (error: unknown) => report(error, globals(command)),
      );
    };

  program
    .command('submit')
    .description('submit FILE.json (the body of POST /api/v1/generate-descriptions); prints the job id')
    .argument('<file>', 'JSON file: {version, languages, lots}')
    .option('--idempotency-key <key>', 'Idempotency-Key header: a retry with the same key answers the first answer again')
    .action(
      run(async (file: string, local: { idempotencyKey?: string }, command: Command) => {
        const options = globals(command);
        const client = clientFor(options);
        let request: GenerateRequest;
        try {
          request = JSON.parse(await readFile(file, 'utf8')) as GenerateRequest;
        } catch (error) {
          throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
        }
        const answer = await client.generate(request, { idempotencyKey: local.idempotencyKey });
        if (options.json || 'dry_run' in answer) write(JSON.stringify(answer, null, options.json ? undefined : 2));
        else if ('lots' in answer)
          write(`${answer.job_id} (synchronous: ${answer.lots.map((lot) => `${lot.lot_id} ${lot.status}`).join(', ')})`);
        else write(answer.job_id);
      }),
    );

  program
    .command('poll')
    .description("poll a job until it ends, with a progress bar (reference 003's poll_job_v2.py)")
    .argument('<job>', 'job id')
    .option('--interval <seconds>', 'seconds between polls', positive('seconds'), 10)
    .option('--timeout <minutes>', 'give up after this many minutes (exit code 3)', positive('minutes'), 20)
    .option('--download', 'save the results file when the job ends')
    .option('--out <file>', 'where --download saves (default batch_results_<job>.json)')
    .action(
      run(async (job: string, local: { interval: number; timeout: number; download?: boolean; out?: string }, command: Command) => {
        const options = globals(command);
        const download = local.download || local.out ? (local.out ?? `batch_results_${job}.json`) : undefined;
        const plan = { intervalSeconds: local.interval, timeoutMinutes: local.timeout, download };
        return (await watchJob(clientFor(options), job, plan, options)).code;
      }),
    );

  program
    .command('results')
    .description("a finished job's results: a table of lots (--json: the whole document)")
    .argument('<job>', 'job id')
    .action(
      run(async (job: string, _local: unknown, command: Command) => {
        const options = globals(command);
        const results = await clientFor(options).results(job);
        if (options.json) write(JSON.stringify(results));
        else {
          const summary = results.processing_summary;
          write(
            `job ${results.job_id} ${results.status}: ${summary.processed_lots} processed, ${summary.failed_lots} failed of ${summary.total_lots} lots`,
          );
          write(resultsTable(results, languagesOf(results)));
        }
      }),
    );

  program
    .command('cancel')
    .description('cancel a pending, processing or translating job')
    .argument('<job>', 'job id')
    .action(
      run(async (job: string, _local: unknown, command: Command) => {
        const options = globals(command);
        const answer = await clientFor(options).cancel(job);
        write(options.json ? JSON.stringify(answer) : `job ${answer.job_id} ${answer.status} at ${answer.cancelled_at}`);
      }),
    );

  program
    .command('jobs')
    .description('your jobs, newest first')
    .addOption(
      new Option('--status <status>', 'only jobs in this state').choices([
        'pending',
        'processing',
        'translating',
        'completed',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'how many (1…100)', count)
    .option('--offset <n>', 'skip this many', count)
    .action(
      run(async (local: { status?: JobListQuery['status']; limit?: number; offset?: number }, command: Command) => {
        const options = globals(command);
        const query: JobListQuery = {};
        if (local.status) query.status = local.status;
        if (local.limit !== undefined) query.limit = local.limit;
        if (local.offset !== undefined) query.offset = local.offset;
        const list = await clientFor(options).list(query);
        write(options.json ? JSON.stringify(list) : jobsTable(list));
      }),
    );

  program
    .command('demo')
    .description('against a running service: submit sample lots, show the progress bar, print the results table')
    .option('--images <urls>', "comma-separated image URLs, one lot each (default: the service's own /samples/car-{1,2,3}.png)")
    .option('--languages <codes>', 'comma-separated languages', 'en,de')
    .option('--interval <seconds>', 'seconds between polls', positive('seconds'), 2)
    .option('--timeout <minutes>', 'give up after this many minutes (exit code 3)', positive('minutes'), 30)
    .action(
      run(async (local: { images?: string; languages: string; interval: number; timeout: number }, command: Command) => {
        const options = globals(command);
        const base = options.url.replace(/\/+$/, '');
        const images = local.images
          ? local.images
              .split(',')
              .map((url) => url.trim())
              .filter(Boolean)
          : [1, 2, 3].map((n) => `${base}/samples/car-${n}.png`);
        const languages = local.languages
          .split(',')
          .map((code) => code.trim())
          .filter(Boolean);
        const client = clientFor(options);
        const job = await client.submit(demoRequest(images, languages));
        if (options.json) write(JSON.stringify(job));
        else write(`submitted ${job.total_lots} sample lots as job ${job.job_id} (${languages.join(', ')}) to ${base}`);
        const { code } = await watchJob(client, job.job_id, { intervalSeconds: local.interval, timeoutMinutes: local.timeout }, options);
        if (code === EXIT.timeout) return code;
        const results = await client.results(job.job_id);
        write(options.json ? JSON.stringify(results) : resultsTable(results, languages));
        return code;
      }),
    );

  return program;
}

/** Prints an error the way a person (or, with --json, a program) can act on it; returns exit code 1. */
function report(error: unknown, options: GlobalOptions): number {
  let body: Record<string, unknown>;
  if (error instanceof GenerationApiError) body = { ...error.body, http_status: error.status };
  else if (error instanceof JobNotCompletedError)
    body = { http_status: 202, error: error.answer.error, message: error.answer.message, code: 'JOB_NOT_COMPLETED' };
  else if (error instanceof UsageError) body = { error: 'Usage', message: error.message, code: 'USAGE' };
  else if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
    body = { error: 'Network error', message: `cannot reach ${options.url}: ${cause}`, code: 'NETWORK_ERROR' };
  } else body = { error: 'Error', message: error instanceof Error ? error.message : String(error), code: 'CLIENT_ERROR' };
  if (options.json) process.stderr.write(JSON.stringify(body) + '\n');
  else {
    const status = typeof body.http_status === 'number' ? `HTTP ${body.http_status}, ` : '';
    const details = body.details === undefined ? '' : `\n${JSON.stringify(body.details, null, 2)}`;
    process.stderr.write(`error: ${String(body.message)} (${status}${String(body.code)})${details}\n`);
  }
  return EXIT.error;
}
