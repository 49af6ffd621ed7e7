import { ApiProperty } from '@nestjs/swagger';

/* `usage` and `cost` of a job (issue 13), built in src/jobs/usage/usage-views.ts. */

export class UsageEntryDto {
  @ApiProperty({ example: 'vision', enum: ['vision', 'translation'] }) stage: string;
  @ApiProperty({ example: 'batch', enum: ['batch', 'direct'], description: 'Batch API (50 % price) or direct Responses calls' })
  mode: string;
  @ApiProperty({ example: 'o4-mini' }) model: string;
  @ApiProperty({ example: 1000, type: 'integer', minimum: 0, description: 'OpenAI responses counted (batch lines, direct calls)' })
  requests: number;
  @ApiProperty({ example: 2_415_000, type: 'integer', minimum: 0, description: 'Input tokens, cached ones included' }) input_tokens: number;
  @ApiProperty({ example: 1_152_000, type: 'integer', minimum: 0 }) cached_input_tokens: number;
  @ApiProperty({ example: 410_000, type: 'integer', minimum: 0, description: 'Output tokens, reasoning ones included' })
  output_tokens: number;
  @ApiProperty({ example: 256_000, type: 'integer', minimum: 0 }) reasoning_tokens: number;
  @ApiProperty({ example: 1.5061, type: Number, nullable: true, description: 'USD; null when the model has no price in the table' })
  cost_usd: number | null;
}

export class UsageDto {
  @ApiProperty({ example: 2_900_000, type: 'integer', minimum: 0 }) input_tokens: number;
  @ApiProperty({ example: 1_152_000, type: 'integer', minimum: 0 }) cached_input_tokens: number;
  @ApiProperty({ example: 620_000, type: 'integer', minimum: 0 }) output_tokens: number;
  @ApiProperty({ example: 256_000, type: 'integer', minimum: 0 }) reasoning_tokens: number;
  @ApiProperty({ type: [UsageEntryDto], description: 'By stage, mode and model; each billed OpenAI response counted once' })
  by_stage: UsageEntryDto[];
}

export class CostDto {
  @ApiProperty({ example: 1.7352, description: 'USD, from the recorded usage and the configured price table (OPENAI_PRICES)' })
  total_usd: number;
  @ApiProperty({ example: 'USD', enum: ['USD'] }) currency: string;
  @ApiProperty({ example: '2026-07-02', format: 'date', description: 'The day the price table was read; operators keep it current' })
  prices_as_of: string;
  @ApiProperty({ example: [], type: [String], description: 'Models used that have no price (their tokens are not in total)' })
  unpriced_models: string[];
}
