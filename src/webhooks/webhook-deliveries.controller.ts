import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../auth/api-client.js';
import { HMAC_SECURITY, Signed } from '../auth/signed.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiErrors, BODY_ERRORS, ERROR_EXAMPLES, SIGNATURE_ERRORS } from '../jobs/dto/api-errors.js';
import { RedeliverWebhooksDto, RedeliveryResultDto, WebhookDeliveryListDto } from './dto/webhook-delivery.dto.js';
import { WebhooksService, type RedeliveryResult } from './webhooks.service.js';

const JOB_ID_PARAM = {
  name: 'job_id',
  format: 'uuid',
  description: 'The job; sign this exact string',
  example: '550e8400-e29b-41d4-a716-446655440000',
};

/** Operators' view of a job's webhook deliveries (SPEC §3 job control), scoped to the calling client. */
@ApiTags('webhooks')
@ApiSecurity(HMAC_SECURITY)
@ApiErrors(...SIGNATURE_ERRORS, ERROR_EXAMPLES.jobNotFound)
@Controller('api/v1/batch-jobs')
export class WebhookDeliveriesController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get(':job_id/webhook-deliveries')
  @Signed('job_id')
  @ApiOperation({
    summary: "List a job's webhook deliveries",
    description: 'One entry per webhook URL and part, with its state, the last answer and every attempt. Signed over the job_id.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiOkResponse({ type: WebhookDeliveryListDto })
  async list(@Param('job_id') jobId: string, @Req() request: AuthenticatedRequest): Promise<WebhookDeliveryListDto> {
    return { job_id: jobId, deliveries: await this.webhooks.listForJob(jobId, request.client!.id) };
  }

  @Post(':job_id/webhooks/redeliver')
  @HttpCode(202)
  @Signed('job_id')
  @ApiOperation({
    summary: "Re-send a job's webhooks",
    description:
      'Puts failed deliveries (or, with `all: true`, every finished one) back in the queue as new attempts with a fresh ' +
      'retry schedule. `webhook-id` stays the same so receivers can de-duplicate. Signed over the job_id.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiBody({ type: RedeliverWebhooksDto, required: false, examples: { failed: { value: {} }, everything: { value: { all: true } } } })
  @ApiAcceptedResponse({ type: RedeliveryResultDto })
  @ApiErrors(...BODY_ERRORS, {
    status: 400,
    code: ErrorCode.ValidationFailed,
    message: 'all: all must be a boolean value',
    details: { problems: ['all: all must be a boolean value'] },
  })
  redeliver(
    @Param('job_id') jobId: string,
    @Body() body: RedeliverWebhooksDto,
    @Req() request: AuthenticatedRequest,
  ): Promise<RedeliveryResult> {
    return this.webhooks.redeliver(jobId, request.client!.id, body?.all ?? false);
  }
}
