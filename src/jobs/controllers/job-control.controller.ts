import { Body, Controller, Delete, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { HMAC_SECURITY, Signed } from '../../auth/signed.decorator.js';
import { ApiErrors, AUTH_ERRORS, BODY_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { RetriedJobDto, RetryJobDto, UpdateJobDto } from '../dto/job-control.dto.js';
import { JobStatusDto } from '../dto/job-responses.dto.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { JobControlService } from '../job-control.service.js';
import { ClientRateLimitGuard, PollingRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { ClientId } from './client-id.decorator.js';

const JOB_ID_PARAM = { name: 'job_id', format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000', description: 'Sign this value' };

const STATE_CONFLICT = (message: string) => ({ ...ERROR_EXAMPLES.jobStateConflict, message });
const LABEL_PROBLEM = 'metadata.batch: must be a string (or null to remove the key)';

/**
 * Job control (issue 13, reference 004): relabel, pause, resume, retry failed
 * lots, delete. Signed over the job id like cancel; another client's job is 404.
 */
@ApiTags('jobs')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@PollingRateLimit()
@Controller('api/v1/batch-jobs')
export class JobControlController {
  constructor(private readonly control: JobControlService) {}

  @Patch(':job_id')
  @HttpCode(200)
  @Signed('job_id')
  @ApiOperation({
    summary: 'Relabel or rename a job (merge its metadata; a null value removes a key)',
    description: 'Works in every status. Answers the job as `GET /batch-status/{job_id}` does.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiBody({ type: UpdateJobDto })
  @ApiOkResponse({ type: JobStatusDto })
  @ApiErrors(
    { ...ERROR_EXAMPLES.validation, message: LABEL_PROBLEM, details: { problems: [LABEL_PROBLEM] } },
    ERROR_EXAMPLES.invalidJson,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    ERROR_EXAMPLES.payloadTooLarge,
    ERROR_EXAMPLES.unsupportedMediaType,
  )
  update(@ClientId() clientId: string, @Param('job_id') jobId: string, @Body() body: unknown) {
    return this.control.update(clientId, jobId, body);
  }

  @Post(':job_id/pause')
  @HttpCode(200)
  @Signed('job_id')
  @ApiOperation({
    summary: 'Pause an active job',
    description:
      'The job starts no new stage and no new OpenAI call, and holds no worker claim, until it is resumed; batches already at OpenAI ' +
      'keep running and are ingested after the resume. Status and list show `paused`. Sends `batch_job_paused` to webhook URLs of jobs ' +
      'that asked for it (`webhook_events`).',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiOkResponse({ type: JobStatusDto })
  @ApiErrors(
    ...BODY_ERRORS,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    STATE_CONFLICT('Only an active job can be paused; this one is completed'),
  )
  pause(@ClientId() clientId: string, @Param('job_id') jobId: string) {
    return this.control.pause(clientId, jobId);
  }

  @Post(':job_id/resume')
  @HttpCode(200)
  @Signed('job_id')
  @ApiOperation({ summary: 'Resume a paused job where it stopped', description: 'Sends `batch_job_resumed` to URLs that asked for it.' })
  @ApiParam(JOB_ID_PARAM)
  @ApiOkResponse({ type: JobStatusDto })
  @ApiErrors(
    ...BODY_ERRORS,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    STATE_CONFLICT('Only a paused job can be resumed; this one is processing'),
  )
  resume(@ClientId() clientId: string, @Param('job_id') jobId: string) {
    return this.control.resume(clientId, jobId);
  }

  @Post(':job_id/retry')
  @HttpCode(200)
  @Signed('job_id')
  @Idempotent()
  @ApiOperation({
    summary: 'Re-process the failed lots of a completed or failed job',
    description:
      'In the same job: every failed lot, or only `lot_ids`. Each lot counts one more attempt; a lot that already has its English ' +
      'description goes back to translation only. The job becomes active again and sends its terminal webhook anew when it finishes ' +
      '(and `batch_job_retried` now, to URLs that asked for it). `409` while the job is active, for a cancelled job and when no lot failed.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiBody({ type: RetryJobDto, required: false })
  @ApiOkResponse({ type: RetriedJobDto })
  @ApiErrors(
    {
      ...ERROR_EXAMPLES.validation,
      message: 'lot_ids: must be an array of 1 to 50000 lot ids (strings)',
      details: { problems: ['lot_ids: must be an array of 1 to 50000 lot ids (strings)'] },
    },
    ERROR_EXAMPLES.invalidJson,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    STATE_CONFLICT('Only a completed or failed job can be retried; this one is processing'),
    ERROR_EXAMPLES.idempotencyKeyInFlight,
    ERROR_EXAMPLES.lotsNotRetryable,
    ERROR_EXAMPLES.idempotencyKeyReused,
    ERROR_EXAMPLES.payloadTooLarge,
    ERROR_EXAMPLES.unsupportedMediaType,
  )
  retry(@ClientId() clientId: string, @Param('job_id') jobId: string, @Body() body: unknown) {
    return this.control.retry(clientId, jobId, body);
  }

  @Delete(':job_id')
  @HttpCode(204)
  @Signed('job_id')
  @Idempotent()
  @ApiOperation({
    summary: 'Delete a job and everything of it',
    description:
      'Cancels the job if it is active and its OpenAI batches, deletes its input, output and error files at OpenAI, then removes the job, ' +
      'its lots, results and webhook deliveries. The job answers `404` afterwards.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(
    ...BODY_ERRORS,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.jobNotFound,
    ERROR_EXAMPLES.idempotencyKeyInFlight,
    ERROR_EXAMPLES.idempotencyKeyReused,
  )
  async delete(@ClientId() clientId: string, @Param('job_id') jobId: string): Promise<void> {
    await this.control.delete(clientId, jobId);
  }
}
