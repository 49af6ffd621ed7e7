import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JobStatus } from '../job.types.js';
import { CostDto, UsageDto } from './usage-cost.dto.js';

/* Response bodies of the jobs API for the OpenAPI document; shapes from reference 002 (built in job-views.ts). */

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';

const METADATA_EXAMPLE = { auction: 'copart-2025-08-05', batch: 'night-run' };

/** Declares the labels (issue 13) on a response DTO. */
class LabelsDto {
  @ApiProperty({
    example: 'Night run, Copart',
    type: String,
    nullable: true,
    description: 'Display name set by PATCH /batch-jobs/{job_id}',
  })
  name: string | null;
  @ApiProperty({
    example: METADATA_EXAMPLE,
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 512 },
    maxProperties: 16,
    description: 'Your labels: up to 16 string pairs (keys up to 64 characters, values up to 512), as sent on creation or set by PATCH',
  })
  metadata: Record<string, string>;
}

export class DescriptionDto {
  @ApiProperty({ example: 'en' }) language: string;
  @ApiProperty({ example: '<p>Significant front-end collision damage with extensive structural deformation.</p>' }) damages: string;
}

export class ReusedFromDto {
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ example: 'lot-12345' }) lot_id: string;
  @ApiProperty({ example: 0.00412, description: 'USD: what the earlier lot’s OpenAI calls cost, at the current prices' }) saved_usd: number;
}

export class LotResultDto {
  @ApiProperty({ example: 'sync-12345' }) lot_id: string;
  @ApiProperty({ enum: JobStatus, example: 'completed' }) status: string;
  @ApiProperty({ example: '2025-08-05T08:30:15.000Z', type: String, format: 'date-time', nullable: true }) processed_at: string | null;
  @ApiProperty({ example: 3, type: 'integer', minimum: 0, description: 'Images that were fetched and analysed' }) processed_images: number;
  @ApiProperty({ type: [DescriptionDto], description: 'One per requested language, in the requested order' })
  descriptions: DescriptionDto[];
  @ApiProperty({ example: ['https://example.com/audi-trunk.jpg'], description: 'Images that could not be fetched' })
  missing_images: string[];
  @ApiProperty({ example: null, type: String, nullable: true, description: 'Why the lot failed (refusal, no usable image, ...)' }) error:
    string | null;
  @ApiPropertyOptional({
    type: ReusedFromDto,
    description: 'Only on a lot whose result was reused (`reuse_results`): the earlier lot it came from, no OpenAI call made',
  })
  reused_from?: ReusedFromDto;
}

export class SyncResultDto {
  @ApiProperty({ example: JOB_ID, description: 'The stored job (poll it like a batch job); an addition to reference 002' }) job_id: string;
  @ApiProperty({ example: '1.0.0' }) version: string;
  @ApiProperty({ example: 'synchronous' }) processing_mode: string;
  @ApiProperty({ example: 1, type: 'integer', minimum: 0 }) total_lots: number;
  @ApiProperty({ example: '2025-08-05T08:30:15.000Z', format: 'date-time' }) processed_at: string;
  @ApiProperty({ type: [LotResultDto] }) lots: LotResultDto[];
}

export class AcceptedJobDto {
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ example: 'accepted' }) status: string;
  @ApiProperty({ example: '2025-08-05T07:30:00.000Z', format: 'date-time' }) created_at: string;
  @ApiProperty({ example: 2, type: 'integer', minimum: 0 }) total_lots: number;
  @ApiProperty({ example: ['en', 'fr', 'de'] }) languages: string[];
  @ApiProperty({ example: '2025-08-05T08:30:00.000Z', format: 'date-time' }) estimated_completion: string;
  @ApiProperty({ example: 'batch' }) processing_mode: string;
  @ApiProperty({ example: true }) webhook_configured: boolean;
}

export class ProgressDto {
  @ApiProperty({ example: 100, type: 'integer', minimum: 0 }) total_lots: number;
  @ApiProperty({ example: 67, type: 'integer', minimum: 0 }) processed_lots: number;
  @ApiProperty({ example: 3, type: 'integer', minimum: 0 }) failed_lots: number;
  @ApiProperty({ example: 70.0, description: '(processed + failed) / total, in percent' }) completion_percentage: number;
  @ApiProperty({ example: '2025-08-05T08:15:00.000Z', type: String, format: 'date-time', nullable: true }) estimated_completion:
    string | null;
}

export class ProcessingDetailsDto {
  @ApiProperty({ example: 'batch_67890abc', type: String, nullable: true }) openai_vision_batch_id: string | null;
  @ApiProperty({ example: 'batch_12345def', type: String, nullable: true }) openai_translation_batch_id: string | null;
  @ApiProperty({ example: 'vision_analysis', description: 'queued, image_check, vision_analysis, translation, completed, cancelled, ...' })
  current_stage: string;
}

export class JobStatusDto extends LabelsDto {
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ enum: JobStatus, example: 'processing' }) status: string;
  @ApiProperty({ example: 'batch', enum: ['batch', 'synchronous'] }) processing_mode: string;
  @ApiProperty({ example: '2025-08-05T07:30:00.000Z', format: 'date-time' }) created_at: string;
  @ApiProperty({ example: '2025-08-05T07:45:00.000Z', format: 'date-time' }) updated_at: string;
  @ApiProperty({ type: ProgressDto }) progress: ProgressDto;
  @ApiProperty({ example: ['en', 'ru', 'de'] }) languages: string[];
  @ApiProperty({ type: ProcessingDetailsDto }) processing_details: ProcessingDetailsDto;
  @ApiProperty({ example: null, type: String, nullable: true }) error_message: string | null;
  @ApiProperty({ example: true }) webhook_configured: boolean;
  @ApiProperty({ type: UsageDto, description: 'OpenAI tokens so far, by stage and mode' }) usage: UsageDto;
  @ApiProperty({ type: CostDto, description: 'What those tokens cost at the configured prices' }) cost: CostDto;
}

export class ProcessingSummaryDto {
  @ApiProperty({ example: 2, type: 'integer', minimum: 0 }) total_lots: number;
  @ApiProperty({ example: 2, type: 'integer', minimum: 0 }) processed_lots: number;
  @ApiProperty({ example: 0, type: 'integer', minimum: 0 }) failed_lots: number;
  @ApiProperty({ example: 5, type: 'integer', minimum: 0 }) total_images_processed: number;
  @ApiProperty({ example: '45 minutes' }) total_processing_time: string;
  @ApiProperty({ type: UsageDto }) usage: UsageDto;
  @ApiProperty({ type: CostDto }) cost: CostDto;
}

export class ResultsBodyDto {
  @ApiProperty({ example: '1.0.0' }) version: string;
  @ApiProperty({ type: [LotResultDto] }) lots: LotResultDto[];
}

export class JobResultsDto extends LabelsDto {
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ example: 'completed', description: 'completed; failed and cancelled jobs also answer 200 with the lots finished so far' })
  status: string;
  @ApiProperty({ example: '2025-08-05T08:15:00.000Z', type: String, format: 'date-time', nullable: true }) completed_at: string | null;
  @ApiProperty({ type: ProcessingSummaryDto }) processing_summary: ProcessingSummaryDto;
  @ApiProperty({ example: null, type: String, nullable: true }) error_message: string | null;
  @ApiProperty({ type: ResultsBodyDto }) results: ResultsBodyDto;
}

export class NotCompletedDto {
  @ApiProperty({ example: 'Job not completed' }) error: string;
  @ApiProperty({ example: 'processing' }) status: string;
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ type: ProgressDto }) progress: ProgressDto;
  @ApiProperty({ example: "Job is currently processing. Results will be available when status is 'completed'." }) message: string;
}

export class ListProgressDto {
  @ApiProperty({ example: 64.0 }) completion_percentage: number;
  @ApiProperty({ example: '2025-08-05T08:20:00.000Z', type: String, format: 'date-time', nullable: true }) estimated_completion:
    string | null;
}

export class JobListItemDto extends LabelsDto {
  @ApiProperty({ example: JOB_ID }) id: string;
  @ApiProperty({ enum: JobStatus, example: 'processing' }) status: string;
  @ApiProperty({ example: 'batch' }) processing_mode: string;
  @ApiProperty({ example: '2025-08-05T07:30:00.000Z', format: 'date-time' }) created_at: string;
  @ApiProperty({ example: '2025-08-05T07:45:00.000Z', format: 'date-time' }) updated_at: string;
  @ApiProperty({ example: 50, type: 'integer', minimum: 0 }) total_lots: number;
  @ApiProperty({ example: 32, type: 'integer', minimum: 0 }) processed_lots: number;
  @ApiProperty({ example: 1, type: 'integer', minimum: 0 }) failed_lots: number;
  @ApiProperty({ example: ['en', 'fr'] }) languages: string[];
  @ApiProperty({ type: ListProgressDto }) progress: ListProgressDto;
  @ApiProperty({ example: true }) webhook_configured: boolean;
  @ApiProperty({ type: CostDto }) cost: CostDto;
}

export class PaginationDto {
  @ApiProperty({ example: 20, type: 'integer', minimum: 0 }) limit: number;
  @ApiProperty({ example: 0, type: 'integer', minimum: 0 }) offset: number;
  @ApiProperty({ example: 1, type: 'integer', minimum: 0 }) total: number;
  @ApiProperty({ example: false }) has_more: boolean;
}

export class JobListDto {
  @ApiProperty({ type: [JobListItemDto] }) jobs: JobListItemDto[];
  @ApiProperty({ type: PaginationDto }) pagination: PaginationDto;
}

export class CancelledJobDto {
  @ApiProperty({ example: JOB_ID }) job_id: string;
  @ApiProperty({ example: 'cancelled' }) status: string;
  @ApiProperty({ example: '2025-08-05T08:00:00.000Z', format: 'date-time' }) cancelled_at: string;
  @ApiProperty({ example: 'Job successfully cancelled' }) message: string;
}

export class ErrorResponseDto {
  @ApiProperty({ example: 'Validation failed' }) error: string;
  @ApiProperty({ example: 'Invalid image URLs detected' }) message: string;
  @ApiProperty({ example: 'INVALID_IMAGE_URLS', description: 'Stable machine-readable code; see each status for the codes it carries' })
  code: string;
  @ApiPropertyOptional({ example: { invalid_urls: ['ftp://example.com/car.jpg'] }, type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;
}

/** 400 from the cancel route: reference 002's body plus `code`. */
export class NotCancellableDto extends ErrorResponseDto {
  @ApiProperty({ example: 'completed' }) status: string;
}
