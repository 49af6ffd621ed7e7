import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OPTIONAL_WEBHOOK_EVENTS } from '../job.types.js';
import { DEFAULT_LANGUAGES, FIELD_LIMITS } from '../validation/generation-request.js';
import { METADATA_LIMITS } from '../validation/job-metadata.js';

/*
 * The request body of POST /generate-descriptions, for the OpenAPI document.
 * It is validated by parseGenerationRequest (validation/generation-request.ts),
 * not by class-validator: nested DTO validation of a 50,000-lot body took
 * seconds. Keep these descriptions in step with that function.
 */

export class ImageDto {
  @ApiProperty({
    example: 'http://localhost:5000/samples/car-1.png',
    format: 'uri',
    minLength: 1,
    maxLength: FIELD_LIMITS.url,
    description: 'Absolute http(s) URL of a photo (at most 10 MB, image/*)',
  })
  url: string;
}

export class LotDto {
  @ApiProperty({
    example: 'sync-12345',
    minLength: 1,
    maxLength: FIELD_LIMITS.lotId,
    description: 'Your id of the vehicle; unique within one request',
  })
  lot_id: string;

  @ApiPropertyOptional({
    example: '2021 BMW X5, front collision damage, airbags deployed',
    type: String,
    maxLength: FIELD_LIMITS.additionalInfo,
    nullable: true,
  })
  additional_info?: string | null;

  @ApiPropertyOptional({
    example: 'https://your-app.com/webhooks/generation-complete',
    type: String,
    format: 'uri',
    maxLength: FIELD_LIMITS.url,
    nullable: true,
    description: 'http(s) URL notified when the batch job completes (batch mode only); the payload lists the lots that named it',
  })
  webhook?: string | null;

  @ApiProperty({
    type: [ImageDto],
    minItems: 1,
    description: 'At least one image; at most 20 in synchronous mode. Unreachable images are reported in missing_images.',
  })
  images: ImageDto[];
}

export class GenerateDescriptionsDto {
  @ApiPropertyOptional({
    example: 'sha256=5d41402abc4b2a76b9719d911017c592...',
    description: 'The HMAC signature, when not sent in the X-Signature header (reference 002)',
  })
  signature?: string;

  @ApiPropertyOptional({
    example: '1.0.0',
    default: '1.0.0',
    maxLength: FIELD_LIMITS.version,
    description: 'Client payload version; echoed back',
  })
  version?: string;

  @ApiPropertyOptional({
    example: ['en', 'ru', 'de'],
    default: DEFAULT_LANGUAGES,
    maxItems: 10,
    description: 'ISO 639-1 codes (plus common regional forms such as pt-BR, zh-CN); matched case-insensitively, duplicates ignored',
  })
  languages?: string[];

  @ApiPropertyOptional({
    example: false,
    description:
      'Default false. Estimate only: validated and authenticated as usual, then `200` with the requests, tokens and cost range the request would cause. ' +
      'Nothing is stored, nothing is sent to OpenAI; counted against the polling rate limit, not the sync or batch one.',
  })
  dry_run?: boolean;

  @ApiPropertyOptional({
    example: false,
    description:
      'Default false. Reuse instead of re-billing: a lot whose images (by content), additional_info, languages and models match a lot of yours completed ' +
      'within RESULT_REUSE_DAYS gets that result without an OpenAI call, marked `reused_from`.',
  })
  reuse_results?: boolean;

  @ApiProperty({
    type: [LotDto],
    minItems: 1,
    maxItems: 50000,
    description: '1 lot → synchronous 200; 2 … MAX_BATCH_SIZE lots → batch job, 201',
  })
  lots: LotDto[];

  @ApiPropertyOptional({
    example: { auction: 'copart-2025-08-05', batch: 'night-run' },
    type: 'object',
    additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.value },
    maxProperties: METADATA_LIMITS.pairs,
    description:
      `Your labels, as OpenAI's own: up to ${METADATA_LIMITS.pairs} pairs, keys up to ${METADATA_LIMITS.key} characters, string values ` +
      `up to ${METADATA_LIMITS.value}. Returned in status, results, the list and webhooks; filter the list with metadata[key]=value.`,
  })
  metadata?: Record<string, string>;

  @ApiPropertyOptional({
    example: ['batch_job_completed', 'batch_job_failed', 'batch_job_cancelled', 'batch_job_paused'],
    type: [String],
    enum: ['batch_job_completed', 'batch_job_failed', 'batch_job_cancelled', ...OPTIONAL_WEBHOOK_EVENTS],
    description:
      'Webhook events wanted besides the terminal ones (which are always sent): batch_job_paused, batch_job_resumed, batch_job_retried',
  })
  webhook_events?: string[];
}
