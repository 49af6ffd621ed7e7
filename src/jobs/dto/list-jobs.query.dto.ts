import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { JobStatus } from '../job.types.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_OFFSET = 1_000_000_000;
/** Every query parameter the list accepts: anything else is 400, so no other signature passes as a list query. */
export const LIST_JOBS_PARAMETERS = ['status', 'limit', 'offset', 'created_after', 'created_before', 'metadata[*]'] as const;
/** Most `metadata[key]=value` filters one list query may carry (a job has at most 16 pairs). */
export const MAX_METADATA_FILTERS = 16;

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

/**
 * The `metadata[key]=value` filters of a list URL, read from the raw query
 * string (whatever Express's query parser makes of brackets). Undefined when
 * there is none; 400 for more than MAX_METADATA_FILTERS or a key given twice.
 */
export function metadataFilterOf(url: string): Record<string, string> | undefined {
  const mark = url.indexOf('?');
  if (mark < 0) return undefined;
  const filter: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of new URLSearchParams(url.slice(mark + 1))) {
    const match = /^metadata\[([^[\]]+)\]$/.exec(name);
    if (!match) continue;
    if (Object.hasOwn(filter, match[1])) problems.push(`${name}: given more than once`);
    filter[match[1]] = value;
  }
  const count = Object.keys(filter).length;
  if (count > MAX_METADATA_FILTERS) problems.push(`metadata: at most ${MAX_METADATA_FILTERS} filters (got ${count})`);
  if (problems.length > 0) throw new ApiException(400, ErrorCode.ValidationFailed, problems.slice(0, 5).join('; '), { problems });
  return count === 0 ? undefined : filter;
}
