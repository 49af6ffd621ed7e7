import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_JOB_NAME, METADATA_LIMITS } from '../validation/job-metadata.js';
import { JobStatusDto } from './job-responses.dto.js';

/*
 * Bodies of the job-control routes (issue 13) for the OpenAPI document. They
 * are validated by JobControlService by hand (a `null` metadata value has a
 * meaning there: remove the key), not by class-validator.
 */

export class UpdateJobDto {
  @ApiPropertyOptional({
    example: { batch: 'night-run-2', reviewed: 'yes', obsolete_key: null },
    type: 'object',
    additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.value, nullable: true },
    maxProperties: METADATA_LIMITS.pairs,
    description: `Merged into the job's metadata; a null value removes that key. At most ${METADATA_LIMITS.pairs} keys after the merge.`,
  })
  metadata?: Record<string, string | null>;

  @ApiPropertyOptional({
    example: 'Night run, Copart',
    type: String,
    nullable: true,
    maxLength: MAX_JOB_NAME,
    description: 'New display name; null clears it',
  })
  name?: string | null;
}

export class RetryJobDto {
  @ApiPropertyOptional({
    example: ['lot-3', 'lot-6'],
    type: [String],
    minItems: 1,
    description: 'Retry only these lots (each must be in the job and failed); without it every failed lot of the job is retried',
  })
  lot_ids?: string[];
}

export class RetriedJobDto extends JobStatusDto {
  @ApiProperty({ example: 2, type: 'integer', minimum: 1, description: 'Failed lots put back in the pipeline' }) retried_lots: number;
}
