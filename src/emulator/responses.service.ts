import { ApiError, invalidRequest, serverError, type OpenAIErrorBody } from './api-error.js';
import type { Route } from './http-server.js';
import type { OutboundTarget } from '../common/http/safe-request.js';
import { fetchImages } from './image-fetcher.js';
import { buildResponse, type ResponseObject } from './response-builder.js';
import { parseResponsesRequest } from './responses-request.js';
import { fillSchema } from './schema-filler.js';
import type { StatsRecorder } from './stats.js';
import { describeDamage, extractAdditionalInfo, extractSourceHtml, findTriggers, withHostileHtml } from './text-generator.js';

export type ResponsesOutcome =
  { ok: true; status: 200; body: ResponseObject } | { ok: false; status: number; body: { error: OpenAIErrorBody } };

/**
 * The Responses API logic, shared by `POST /v1/responses` and batch lines so
 * that a request gets the same answer (or the same error) both ways.
 */
export class ResponsesService {
  constructor(
    private readonly stats: StatsRecorder,
    private readonly imageTimeoutMs: number,
    private readonly images: OutboundTarget,
  ) {}

  async create(body: unknown): Promise<ResponsesOutcome> {
    try {
      return { ok: true, status: 200, body: await this.run(body) };
    } catch (err) {
      if (err instanceof ApiError) return { ok: false, status: err.status, body: err.toBody() };
      throw err;
    }
  }

  private async run(body: unknown): Promise<ResponseObject> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('The request body must be a JSON object.');
    const req = parseResponsesRequest(body as Record<string, unknown>);
    const userText = req.userTextParts.join('\n');
    const triggers = findTriggers(userText);
    if (triggers.has('fail-500')) throw serverError();
    await fetchImages(req.images, {
      timeoutMs: this.imageTimeoutMs,
      onFetch: () => this.stats.increment('imageFetches'),
      target: this.images,
    });

    const hostile = triggers.has('hostile-html') ? withHostileHtml : (html: string) => html;
    const description = hostile(describeDamage(extractAdditionalInfo(req.userTextParts), req.images.length));
    let text: string;
    if (req.textFormat.type === 'json_schema') {
      text = JSON.stringify(fillSchema(req.textFormat.schema, { description, sourceHtml: hostile(extractSourceHtml(userText)) }));
    } else if (req.textFormat.type === 'json_object') {
      text = JSON.stringify({ description });
    } else {
      text = description;
    }
    return buildResponse(req, text, triggers);
  }
}

export function responsesRoutes(responses: ResponsesService, stats: StatsRecorder): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/responses',
      async handler(ctx) {
        const outcome = await responses.create(await ctx.readJson());
        stats.increment(outcome.ok ? 'responsesCreated' : 'responsesFailed');
        return { status: outcome.status, json: outcome.body };
      },
    },
  ];
}
