import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { HMAC_SECURITY, Signed } from '../../auth/signed.decorator.js';
import { ApiErrors, ApiNotCancellable, AUTH_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { CancelledJobDto } from '../dto/job-responses.dto.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { JobsService } from '../jobs.service.js';
import { ClientRateLimitGuard, PollingRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { ClientId } from './client-id.decorator.js';

/** Commands on one job (cancel), which may reach OpenAI; the list is JobListController. */
@ApiTags('jobs')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@PollingRateLimit()
@Controller('api/v1/batch-jobs')
export class BatchJobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post(':job_id/cancel')
  @HttpCode(200)
  @Signed('job_id')
  @Idempotent()
  @ApiOperation({
    summary: 'Cancel a pending, processing or translating job',
    description:
      "Marks the job and its unfinished lots cancelled (lots already done keep their results), then asks OpenAI to cancel the job's batches.",
  })
  @ApiParam({ name: 'job_id', format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000', description: 'Sign this value' })
  @ApiOkResponse({ type: CancelledJobDto })
  @ApiNotCancellable()
  @ApiErrors(
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    ERROR_EXAMPLES.payloadTooLarge,
    ERROR_EXAMPLES.unsupportedMediaType,
    ERROR_EXAMPLES.idempotencyKeyInFlight,
    ERROR_EXAMPLES.idempotencyKeyReused,
  )
  cancel(@ClientId() clientId: string, @Param('job_id') jobId: string) {
    return this.jobs.cancelJob(clientId, jobId);
  }
}
