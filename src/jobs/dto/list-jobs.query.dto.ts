import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { JobStatus } from '../job.types.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_OFFSET = 1_000_000_000;
/** Every query parameter the list accepts: anything else is 400, so no other signature passes as a list query. */
export const LIST_JOBS_PARAMETERS = ['status', 'limit', 'offset', 'created_after', 'created_before'] as const;

/** Query of `GET /batch-jobs` (reference 002). Bad values are a 400 VALIDATION_FAILED, never silently clamped. */
export class ListJobsQueryDto {
  @ApiPropertyOptional({ enum: JobStatus, enumName: 'JobStatus', description: 'Only jobs in this status' })
  @IsOptional()
  @IsEnum(JobStatus, { message: `status must be one of: ${Object.values(JobStatus).join(', ')}` })
  status?: JobStatus;

  @ApiPropertyOptional({ type: 'integer', default: DEFAULT_PAGE_SIZE, minimum: 1, maximum: MAX_PAGE_SIZE, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @ApiPropertyOptional({ type: 'integer', default: 0, minimum: 0, maximum: MAX_OFFSET, description: 'Jobs to skip' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_OFFSET)
  offset: number = 0;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Jobs created at or after this ISO 8601 time, e.g. 2025-08-05T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'created_after must be an ISO 8601 timestamp, e.g. 2025-08-05T07:30:00Z' })
  created_after?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Jobs created before this ISO 8601 time, e.g. 2025-08-06T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'created_before must be an ISO 8601 timestamp, e.g. 2025-08-06T00:00:00Z' })
  created_before?: string;
}
