import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QueryParameters, Signed } from '../../auth/signed.decorator.js';
import { HMAC_SECURITY } from '../../bootstrap/swagger.js';
import { ApiErrors, ApiNotCancellable, AUTH_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { CancelledJobDto, JobListDto } from '../dto/job-responses.dto.js';
import { LIST_JOBS_PARAMETERS, ListJobsQueryDto } from '../dto/list-jobs.query.dto.js';
import { JobsService } from '../jobs.service.js';
import { ClientRateLimitGuard, PollingRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { ClientId } from './client-id.decorator.js';

@ApiTags('jobs')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@PollingRateLimit()
@Controller('api/v1/batch-jobs')
export class BatchJobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @Signed('query')
  @QueryParameters(LIST_JOBS_PARAMETERS)
  @ApiOperation({
    summary: "List the client's jobs, newest first",
    description:
      'Signature: HMAC over the raw query string as sent, without `?` (e.g. `status=processing&limit=20`; empty string when there is none). ' +
      '`created_after` is inclusive, `created_before` exclusive. Bad values, and any other parameter (checked before the signature), ' +
      'answer 400 VALIDATION_FAILED.',
  })
  @ApiOkResponse({ type: JobListDto })
  @ApiErrors(
    {
      ...ERROR_EXAMPLES.validation,
      message: 'limit: limit must not be greater than 100',
      details: { problems: ['limit: limit must not be greater than 100'] },
    },
    ...AUTH_ERRORS,
  )
  list(@ClientId() clientId: string, @Query() query: ListJobsQueryDto) {
    return this.jobs.listJobs(clientId, query);
  }

  @Post(':job_id/cancel')
  @HttpCode(200)
  @Signed('job_id')
  @ApiOperation({
    summary: 'Cancel a pending, processing or translating job',
    description:
      "Marks the job and its unfinished lots cancelled (lots already done keep their results), then asks OpenAI to cancel the job's batches.",
  })
  @ApiParam({ name: 'job_id', format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000', description: 'Sign this value' })
  @ApiOkResponse({ type: CancelledJobDto })
  @ApiNotCancellable()
  @ApiErrors(...AUTH_ERRORS, ERROR_EXAMPLES.jobNotFound)
  cancel(@ClientId() clientId: string, @Param('job_id') jobId: string) {
    return this.jobs.cancelJob(clientId, jobId);
  }
}
