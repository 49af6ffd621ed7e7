import { Injectable, Logger, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthCheckResult } from '@nestjs/terminus';
import { fromUnavailable } from '../common/errors/all-exceptions.filter.js';
import type { ErrorBody } from '../common/errors/api-exception.js';
import { ERROR_TITLES, ErrorCode } from '../common/errors/error-code.js';
import { HealthService } from '../health/health.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

type Handler = () => Promise<{ status: number; contentType: string; body: string; headers?: Record<string, string> }>;

/** Management requests are bodiless GETs: anything slow is not a scraper or a kubelet. */
const MANAGEMENT_TIMEOUT_MS = 10_000;

/**
 * The management listener (MANAGEMENT_PORT), served by the same process and
 * the same providers as the API: health in full detail (workers with hosts,
 * pids and heartbeats, the OpenAI endpoint) and Prometheus `/metrics`. Meant
 * for the cluster's inside — never routed from an ingress — so the public port
 * can answer a status per check only. A plain `node:http` server: four GET
 * routes need no second Nest application, and it closes with the app.
 */
@Injectable()
export class ManagementServer implements OnModuleDestroy {
  private readonly logger = new Logger('Management');
  private server?: Server;
  private readonly routes: Record<string, Handler>;

  constructor(health: HealthService, metrics: MetricsService) {
    const probe =
      (check: () => Promise<HealthCheckResult>): Handler =>
      async () => {
        try {
          return json(200, await check());
        } catch (error) {
          if (error instanceof ServiceUnavailableException) return json(503, fromUnavailable(error), { 'Retry-After': '5' });
          throw error;
        }
      };
    this.routes = {
      '/health': probe(() => health.overall()),
      '/health/live': probe(() => Promise.resolve(health.live())),
      '/health/ready': probe(() => health.ready()),
      '/metrics': async () => {
        const { contentType, body } = await metrics.render();
        return { status: 200, contentType, body };
      },
    };
  }

  /** Starts listening (port 0: any free port); resolves with the actual port. */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer(
      { requestTimeout: MANAGEMENT_TIMEOUT_MS, headersTimeout: MANAGEMENT_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
      (request, response) => void this.handle(request, response),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return this.port!;
  }

  /** The port actually listened on, once listening. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // a scraper's keep-alive connection must not hold shutdown open
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://management').pathname.replace(/(.)\/$/, '$1');
    const route = this.routes[path];
    let answer: Awaited<ReturnType<Handler>>;
    try {
      if (!route) {
        answer = json(404, {
          error: ERROR_TITLES[ErrorCode.NotFound],
          message: `No route for ${request.method} ${path}`,
          code: ErrorCode.NotFound,
        });
      } else if (request.method !== 'GET' && request.method !== 'HEAD') {
        const body: ErrorBody = {
          error: ERROR_TITLES[ErrorCode.MethodNotAllowed],
          message: `${request.method} is not allowed on ${path}; allowed: GET, HEAD`,
          code: ErrorCode.MethodNotAllowed,
        };
        answer = json(405, body, { Allow: 'GET, HEAD' });
      } else {
        answer = await route();
      }
    } catch (error) {
      this.logger.error(`${request.method} ${path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      answer = json(500, {
        error: ERROR_TITLES[ErrorCode.InternalError],
        message: 'An unexpected error occurred',
        code: ErrorCode.InternalError,
      });
    }
    response.writeHead(answer.status, {
      'Content-Type': answer.contentType,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...answer.headers,
    });
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  }
}

function json(status: number, body: unknown, headers?: Record<string, string>) {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), headers };
}
