import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthResultDto, HealthUnavailableDto } from './health-result.dto.js';
import { HealthCheck, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { Public } from '../auth/signed.decorator.js';
import { HealthService } from './health.service.js';

/** One section of a check result with nothing but each indicator's status. */
function statusOf(section: Partial<HealthIndicatorResult> | undefined): HealthIndicatorResult | undefined {
  if (!section) return undefined;
  return Object.fromEntries(Object.entries(section).map(([name, value]) => [name, { status: value?.status }])) as HealthIndicatorResult;
}

/**
 * A check result as the public port may show it: the status of each check and
 * nothing that identifies hosts, processes, instances or URLs (issue 8 §6).
 * The full result is on the management port (MANAGEMENT_PORT).
 */
export function statusOnly(result: HealthCheckResult): HealthCheckResult {
  return { status: result.status, info: statusOf(result.info), error: statusOf(result.error), details: statusOf(result.details) ?? {} };
}

const UNAVAILABLE_EXAMPLE = {
  error: 'Service unavailable',
  message: 'Not healthy: database',
  code: 'SERVICE_UNAVAILABLE',
  details: { status: 'error', info: {}, error: { database: { status: 'down' } }, details: { database: { status: 'down' } } },
};

/**
 * Probes for Kubernetes and Docker on the public port, reduced to a status per
 * check; the same checks in detail are served on the management port.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @HealthCheck({ noCache: true, swaggerDocumentation: false }) // our own responses below: the same document under Jest and in production
  @ApiOperation({ summary: 'Overall health (Docker HEALTHCHECK): database, schema, workers, OpenAI mode — status per check only' })
  @ApiOkResponse({ type: HealthResultDto, description: 'Every check passed' })
  @ApiServiceUnavailableResponse({
    type: HealthUnavailableDto,
    description: 'A check failed: it is named in `message` and `details.error`',
    example: UNAVAILABLE_EXAMPLE,
  })
  check() {
    return this.publicly(this.health.overall());
  }

  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers. Never depends on PostgreSQL or OpenAI.' })
  @ApiOkResponse({
    type: HealthResultDto,
    example: { status: 'ok', info: { process: { status: 'up' } }, error: {}, details: { process: { status: 'up' } } },
  })
  live(): HealthCheckResult {
    return statusOnly(this.health.live());
  }

  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false }) // our own responses below: the same document under Jest and in production
  @ApiOperation({ summary: "Readiness: database ping, migrations applied, and this worker's heartbeat fresh — status per check only" })
  @ApiOkResponse({ type: HealthResultDto, description: 'Ready for traffic' })
  @ApiServiceUnavailableResponse({
    type: HealthUnavailableDto,
    description: 'Not ready: the failing check is named in `message` and `details.error`',
    example: UNAVAILABLE_EXAMPLE,
  })
  ready() {
    return this.publicly(this.health.ready());
  }

  private async publicly(check: Promise<HealthCheckResult>): Promise<HealthCheckResult> {
    try {
      return statusOnly(await check);
    } catch (error) {
      if (error instanceof ServiceUnavailableException)
        throw new ServiceUnavailableException(statusOnly(error.getResponse() as HealthCheckResult));
      throw error;
    }
  }
}
