import { Controller, Get, Param, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HMAC_SECURITY, Signed } from '../../auth/signed.decorator.js';
import { ApiErrors, AUTH_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { JobResultsDto, JobStatusDto, NotCompletedDto } from '../dto/job-responses.dto.js';
import { ACTIVE_JOB_STATUSES } from '../job.types.js';
import { notCompletedView } from '../job-views.js';
import { JobQueriesService } from '../job-queries.service.js';
import { ClientRateLimitGuard, PollingRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { ClientId } from './client-id.decorator.js';

const JOB_ID_PARAM = {
  name: 'job_id',
  format: 'uuid',
  example: '550e8400-e29b-41d4-a716-446655440000',
  description: 'Sign this value: X-Signature = sha256=HMAC(key, job_id)',
};
const POLLING_ERRORS = [...AUTH_ERRORS, ERROR_EXAMPLES.jobNotFound];

/**
 * Polling routes: answered from PostgreSQL only, never by calling OpenAI.
 * The short aliases of reference 003 are the same handlers, signed like
 * every other route (003 shipped them unauthenticated; that was the bug).
 */
@ApiTags('jobs')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@PollingRateLimit()
@Controller('api/v1')
export class JobPollingController {
  constructor(private readonly jobs: JobQueriesService) {}

  @Get(['batch-status/:job_id', 'jobs/:job_id/status'])
  @Signed('job_id')
  @ApiOperation({ summary: 'Status and progress of a job (alias: GET /api/v1/jobs/{job_id}/status)' })
  @ApiParam(JOB_ID_PARAM)
  @ApiOkResponse({ type: JobStatusDto })
  @ApiErrors(...POLLING_ERRORS)
  status(@ClientId() clientId: string, @Param('job_id') jobId: string) {
    return this.jobs.status(clientId, jobId);
  }

  @Get(['batch-results/:job_id', 'jobs/:job_id'])
  @Signed('job_id')
  @ApiOperation({
    summary: 'Results of a finished job (alias: GET /api/v1/jobs/{job_id})',
    description:
      '`200` with every lot once the job is completed. A failed or cancelled job also answers `200`, with its status and the lots ' +
      'finished so far: it will never complete, and a `202` would keep clients polling forever (reference 003). `202` while the job is active. ' +
      'The document is streamed from the database.',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiOkResponse({ type: JobResultsDto })
  @ApiAcceptedResponse({ type: NotCompletedDto, description: 'The job is still pending, processing or translating' })
  @ApiErrors(...POLLING_ERRORS)
  async results(@ClientId() clientId: string, @Param('job_id') jobId: string, @Res() res: Response): Promise<void> {
    await this.sendResults(clientId, jobId, res, false);
  }

  @Get('batch-results/:job_id/download')
  @Signed('job_id')
  @ApiOperation({
    summary: 'Download the results as batch_results_{job_id}.json',
    description:
      'Same document as GET /batch-results/{job_id}, as an attachment, streamed from PostgreSQL page by page (constant memory for 50,000 lots).',
  })
  @ApiParam(JOB_ID_PARAM)
  @ApiProduces('application/json')
  @ApiOkResponse({
    type: JobResultsDto,
    headers: { 'Content-Disposition': { description: 'attachment; filename="batch_results_{job_id}.json"', schema: { type: 'string' } } },
  })
  @ApiAcceptedResponse({ type: NotCompletedDto, description: 'The job is still pending, processing or translating' })
  @ApiErrors(...POLLING_ERRORS)
  async download(@ClientId() clientId: string, @Param('job_id') jobId: string, @Res() res: Response): Promise<void> {
    await this.sendResults(clientId, jobId, res, true);
  }

  private async sendResults(clientId: string, jobId: string, res: Response, attachment: boolean): Promise<void> {
    const job = await this.jobs.getJob(clientId, jobId);
    if (ACTIVE_JOB_STATUSES.includes(job.status)) {
      res.status(202).json(notCompletedView(job));
      return;
    }
    if (attachment) res.setHeader('Content-Disposition', `attachment; filename="batch_results_${job.id}.json"`);
    await this.jobs.streamResults(res, job);
  }
}
