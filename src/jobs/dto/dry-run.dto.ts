import { ApiProperty } from '@nestjs/swagger';

/* The `200` answer of `"dry_run": true` (issue 13), built in src/jobs/estimate/dry-run.estimator.ts. */

export class TokenRangeDto {
  @ApiProperty({ example: 3_400, type: 'integer', minimum: 0 }) min: number;
  @ApiProperty({ example: 55_000, type: 'integer', minimum: 0 }) max: number;
}

export class UsdRangeDto {
  @ApiProperty({ example: 0.00187 }) min: number;
  @ApiProperty({ example: 0.12 }) max: number;
}

export class StageEstimateDto {
  @ApiProperty({ example: 'vision', enum: ['vision', 'translation'] }) stage: string;
  @ApiProperty({ example: 'o4-mini' }) model: string;
  @ApiProperty({ example: 'batch', enum: ['batch', 'direct'] }) mode: string;
  @ApiProperty({ example: 2, type: 'integer', minimum: 0, description: 'Batch lines, or direct calls for one lot' }) requests: number;
  @ApiProperty({ example: 1, type: 'integer', minimum: 0, description: 'OpenAI batches (0 for a synchronous lot)' }) batches: number;
  @ApiProperty({ type: TokenRangeDto }) input_tokens: TokenRangeDto;
  @ApiProperty({ type: TokenRangeDto }) output_tokens: TokenRangeDto;
  @ApiProperty({ type: UsdRangeDto, description: '0–0 when the model has no price (then `priced` is false)' }) cost_usd: UsdRangeDto;
  @ApiProperty({ example: true }) priced: boolean;
}

export class DryRunCostDto {
  @ApiProperty({ example: 0.0021 }) min: number;
  @ApiProperty({ example: 0.1432 }) max: number;
  @ApiProperty({ example: 'USD', enum: ['USD'] }) currency: string;
  @ApiProperty({ example: '2026-07-02', format: 'date' }) prices_as_of: string;
  @ApiProperty({ example: [], type: [String] }) unpriced_models: string[];
}

export class DryRunDto {
  @ApiProperty({ example: true, enum: [true] }) dry_run: boolean;
  @ApiProperty({ example: 'batch', enum: ['synchronous', 'batch'] }) processing_mode: string;
  @ApiProperty({ example: 2, type: 'integer', minimum: 1 }) total_lots: number;
  @ApiProperty({ example: 4, type: 'integer', minimum: 0 }) total_images: number;
  @ApiProperty({ example: ['en', 'fr', 'de'] }) languages: string[];
  @ApiProperty({ type: [StageEstimateDto] }) stages: StageEstimateDto[];
  @ApiProperty({ type: TokenRangeDto }) input_tokens: TokenRangeDto;
  @ApiProperty({ type: TokenRangeDto }) output_tokens: TokenRangeDto;
  @ApiProperty({ type: DryRunCostDto }) cost: DryRunCostDto;
  @ApiProperty({ example: ['text: 4 characters per token; images at detail "auto": 85–1105 tokens each, all images reachable'] })
  assumptions: string[];
}
