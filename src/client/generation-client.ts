/**
 * A correct TypeScript client for the Generation Service (SPEC §4: the JS
 * snippet of reference 002 signs `[{},{}]`; this one signs what Python's
 * client signs). Dependency-free apart from the canonicaliser; Node ≥ 20.
 *
 *   const client = new GenerationClient('http://localhost:5000', process.env.SHARED_KEY!);
 *   const { job_id } = await client.generate({ version: '1.0.0', languages: ['en', 'de'], lots });
 *   const status = await client.status(job_id);
 *
 * With a client key, requests are signed with RFC 9421 (Signature v2) instead:
 *
 *   new GenerationClient(url, { keyId: 'k_…', secret: process.env.CLIENT_SECRET! });        // HMAC
 *   new GenerationClient(url, { keyId: 'k_…', privateKey: readFileSync('client.pem', 'utf8') }); // Ed25519
 */
import { canonicalJson } from '../common/json/canonical-json.js';
import { createRequestSigner, type ClientAuth, type RequestSigner } from './signing.js';

export type { ClientAuth, V2Credentials, HmacV2Credentials, Ed25519V2Credentials } from './signing.js';

export interface LotInput {
  lot_id: string;
  additional_info?: string;
  webhook?: string;
  images: { url: string }[];
}

export interface GenerateRequest {
  version: string;
  languages: string[];
  lots: LotInput[];
}

export class GenerationApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; code?: string; details?: unknown },
  ) {
    super(`${status} ${body.code ?? ''}: ${body.message ?? body.error ?? 'request failed'}`);
  }
}

export class GenerationClient {
  private readonly signer: RequestSigner;

  /** `auth`: SHARED_KEY (seed scheme, `X-Signature`) or a client key (RFC 9421). */
  constructor(
    private readonly baseUrl: string,
    auth: ClientAuth,
  ) {
    this.signer = createRequestSigner(auth);
  }

  /** POST /api/v1/generate-descriptions: 1 lot → the synchronous result, 2+ lots → the accepted job. */
  generate<T = Record<string, unknown>>(request: GenerateRequest): Promise<T> {
    return this.call('POST', '/api/v1/generate-descriptions', canonicalJson(request.lots), JSON.stringify(request));
  }

  status<T = Record<string, unknown>>(jobId: string): Promise<T> {
    return this.call('GET', `/api/v1/batch-status/${encodeURIComponent(jobId)}`, jobId);
  }

  /** Results of a completed job; throws a GenerationApiError with status 202 while it runs. */
  results<T = Record<string, unknown>>(jobId: string): Promise<T> {
    return this.call('GET', `/api/v1/batch-results/${encodeURIComponent(jobId)}`, jobId, undefined, true);
  }

  cancel<T = Record<string, unknown>>(jobId: string): Promise<T> {
    return this.call('POST', `/api/v1/batch-jobs/${encodeURIComponent(jobId)}/cancel`, jobId);
  }

  /** GET /api/v1/batch-jobs: the signature covers the query string exactly as sent. */
  list<T = Record<string, unknown>>(query: Record<string, string | number> = {}): Promise<T> {
    const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return this.call('GET', `/api/v1/batch-jobs${search ? `?${search}` : ''}`, search);
  }

  /** Polls until the job is terminal, then returns its results (or throws with its error). */
  async waitForResults<T = Record<string, unknown>>(jobId: string, { intervalMs = 30_000, timeoutMs = 24 * 3600_000 } = {}): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.status<{ status: string; error_message?: string | null }>(jobId);
      if (state.status === 'completed') return this.results<T>(jobId);
      if (state.status === 'failed' || state.status === 'cancelled') {
        throw new Error(`job ${jobId} ${state.status}: ${state.error_message ?? 'no reason given'}`);
      }
      if (Date.now() + intervalMs > deadline) throw new Error(`job ${jobId} not finished after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  private async call<T>(method: string, path: string, signed: string, body?: string, treat202AsError = false): Promise<T> {
    const url = this.baseUrl.replace(/\/$/, '') + path;
    const response = await fetch(url, {
      method,
      headers: { 'Content-Type': 'application/json', ...this.signer({ method, url, body, seedSubject: signed }) },
      body,
    });
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || (treat202AsError && response.status === 202)) throw new GenerationApiError(response.status, payload);
    return payload as T;
  }
}
