import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';

/* Bodies of the public probes for the OpenAPI document: Terminus' result reduced to a status per check (statusOnly). */

/** A map of check name → `{status}`. */
function checks(description: string, example: Record<string, { status: string }>): ApiPropertyOptions {
  return {
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['up', 'down', 'degraded'], example: 'up' } },
      required: ['status'],
    },
    description,
    example,
  };
}

export class HealthResultDto {
  @ApiProperty({
    enum: ['ok', 'degraded', 'error', 'shutting_down'],
    example: 'ok',
    description: '`degraded`: serving, with a check degraded (offline mode, no live worker)',
  })
  status: string;

  @ApiPropertyOptional(checks('Checks that passed', { database: { status: 'up' } }))
  info?: Record<string, { status: string }>;

  @ApiPropertyOptional(checks('Checks that failed', {}))
  error?: Record<string, { status: string }>;

  @ApiProperty(checks('Every check', { database: { status: 'up' } }))
  details: Record<string, { status: string }>;
}

/** 503 of a probe: the error body, with the failing checks in `details`. */
export class HealthUnavailableDto {
  @ApiProperty({ example: 'Service unavailable' }) error: string;
  @ApiProperty({ example: 'Not healthy: database' }) message: string;
  @ApiProperty({ example: 'SERVICE_UNAVAILABLE' }) code: string;
  @ApiPropertyOptional({ type: HealthResultDto }) details?: HealthResultDto;
}
