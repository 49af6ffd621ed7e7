import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { JobStatus } from '../job.types.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 10;
/** Every query parameter the list accepts: anything else is 400, so no other signature passes as a list query. */
export const LIST_JOBS_PARAMETERS = ['status', 'limit', 'offset', 'created_after', 'created_before'] as const;

/** Query of `GET /batch-jobs` (reference 002). Bad values are a 400 VALIDATION_FAILED, never silently clamped. */
export class ListJobsQueryDto {
  @ApiPropertyOptional({ enum: JobStatus, example: JobStatus.Processing })
  @IsOptional()
  @IsEnum(JobStatus, { message: `status must be one of: ${Object.values(JobStatus).join(', ')}` })
  status?: JobStatus;

  @ApiPropertyOptional({ example: 20, default: DEFAULT_PAGE_SIZE, minimum: 1, maximum: MAX_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @ApiPropertyOptional({ example: 0, default: 0, minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  offset: number = 0;

  @ApiPropertyOptional({ example: '2025-08-05T00:00:00Z', description: 'Jobs created at or after this ISO 8601 time' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'created_after must be an ISO 8601 timestamp, e.g. 2025-08-05T07:30:00Z' })
  created_after?: string;

  @ApiPropertyOptional({ example: '2025-08-06T00:00:00Z', description: 'Jobs created before this ISO 8601 time' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'created_before must be an ISO 8601 timestamp, e.g. 2025-08-06T00:00:00Z' })
  created_before?: string;
}
