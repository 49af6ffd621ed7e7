import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../auth/signed.decorator.js';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import type { ParsedBodyRequest } from '../../common/body/json-body.middleware.js';
import { AppConfig } from '../../config/app-config.js';
import { OpenAiBatchesService } from '../../openai-batches/openai-batches.service.js';
import { WorkerSignal } from '../../worker/worker-signal.js';
import { ApiErrors } from '../dto/api-errors.js';
import { OpenAiWebhookAckDto } from '../dto/openai-webhook.dto.js';
import { JobPipelineService } from '../job-pipeline.service.js';

const BATCH_EVENTS = new Set(['batch.completed', 'batch.failed', 'batch.expired', 'batch.cancelled']);

/**
 * OpenAI's webhooks (issue 13): a batch that finished wakes its job at once
 * instead of at the next poll — polling stays the fallback for lost events.
 * Public (OpenAI cannot sign our HMAC), but every event is verified with
 * `OPENAI_WEBHOOK_SECRET` through the SDK's `webhooks.unwrap` (Standard Webhooks).
 */
@ApiTags('openai')
@Controller('openai')
export class OpenAiWebhooksController {
  constructor(
    private readonly config: AppConfig,
    private readonly batches: OpenAiBatchesService,
    private readonly jobs: JobPipelineService,
    private readonly workerSignal: WorkerSignal,
  ) {}

  @Post('webhooks')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: "OpenAI's webhooks: batch.completed / failed / expired / cancelled wake the batch's job",
    description:
      'Set this URL as a webhook endpoint in the OpenAI project and its signing secret as `OPENAI_WEBHOOK_SECRET`. ' +
      'Verified with the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers (Standard Webhooks); ' +
      '`400` on a bad signature, `404` when no secret is configured. Other event types are acknowledged and ignored.',
  })
  @ApiBody({
    schema: { type: 'object', additionalProperties: true },
    examples: {
      'batch.completed': {
        value: {
          id: 'evt_685343a1381c819085d44c354e1b330e',
          object: 'event',
          created_at: 1750287018,
          type: 'batch.completed',
          data: { id: 'batch_abc123' },
        },
      },
    },
  })
  @ApiOkResponse({ type: OpenAiWebhookAckDto })
  @ApiErrors(
    { status: 400, code: ErrorCode.InvalidSignature, message: 'The webhook signature does not verify' },
    { status: 404, code: ErrorCode.NotFound, message: 'OpenAI webhooks are not enabled (OPENAI_WEBHOOK_SECRET)' },
  )
  async receive(
    @Req() request: ParsedBodyRequest,
    @Headers() headers: Record<string, string | string[] | undefined>,
  ): Promise<OpenAiWebhookAckDto> {
    const secret = this.config.openai.webhookSecret;
    if (!secret) throw new ApiException(404, ErrorCode.NotFound, 'OpenAI webhooks are not enabled (OPENAI_WEBHOOK_SECRET)');
    const event = await this.batches.readWebhook((request.rawBody ?? Buffer.alloc(0)).toString('utf8'), headers, secret);
    if (!event) throw new ApiException(400, ErrorCode.InvalidSignature, 'The webhook signature does not verify');
    let woken = false;
    if (BATCH_EVENTS.has(event.type) && event.jobId) {
      woken = await this.jobs.wake(event.jobId);
      // A worker in this process ticks at once; other replicas see the job due on their next tick.
      if (woken) this.workerSignal.notify();
    }
    return { received: true, type: event.type, job_woken: woken };
  }
}
