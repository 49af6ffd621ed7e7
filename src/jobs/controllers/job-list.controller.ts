import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { HMAC_SECURITY, QueryParameters, Signed } from '../../auth/signed.decorator.js';
import { ApiErrors, AUTH_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { JobListDto } from '../dto/job-responses.dto.js';
import { LIST_JOBS_PARAMETERS, ListJobsQueryDto, metadataFilterOf } from '../dto/list-jobs.query.dto.js';
import { JobQueriesService } from '../job-queries.service.js';
import { ClientRateLimitGuard, PollingRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { ClientId } from './client-id.decorator.js';

/** GET /batch-jobs: a read answered from PostgreSQL alone, like the polling routes. */
@ApiTags('jobs')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@PollingRateLimit()
@Controller('api/v1/batch-jobs')
export class JobListController {
  constructor(private readonly jobs: JobQueriesService) {}

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
  @ApiQuery({
    name: 'metadata',
    required: false,
    style: 'deepObject',
    explode: true,
    schema: { type: 'object', additionalProperties: { type: 'string' } },
    description: 'Only jobs whose metadata has every given pair: `metadata[auction]=copart-2025-08-05` (up to 16 pairs)',
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
  list(@ClientId() clientId: string, @Query() query: ListJobsQueryDto, @Req() request: Request) {
    return this.jobs.listJobs(clientId, query, metadataFilterOf(request.originalUrl));
  }
}
