/**
 * What the deployment files must agree with, read from the application itself (never restated by hand):
 * the environment variables `Environment` declares and their defaults, the HTTP routes the health and metrics
 * controllers register, and the metric names MetricsService registers.
 */
import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { getMetadataStorage } from 'class-validator';
import { Environment } from '../../../src/config/environment.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HealthController } from '../../../src/health/health.controller.js';
import { MetricsService } from '../../../src/metrics/metrics.service.js';
import { MetricsRegistry } from '../../../src/common/metrics/metrics-registry.module.js';
import { GatewayMetricsRecorder } from '../../../src/openai/openai-gateway.metrics.js';
import type { AppConfig } from '../../../src/config/app-config.js';

/** Every variable `Environment` declares (each property carries at least one class-validator decorator). */
export function declaredVariables(): Set<string> {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(Environment, '', true, false);
  return new Set(metadata.map((m) => m.propertyName));
}

/** The variables the manifests, the compose file and the Dockerfile may name. */
export function knownVariables(): Set<string> {
  return declaredVariables();
}

/** The default of a variable, as `Environment` declares it. */
export function defaultOf(name: string): unknown {
  const defaults = new Environment() as unknown as Record<string, unknown>;
  if (declaredVariables().has(name)) return defaults[name];
  throw new Error(`${name} is not a configuration variable`);
}

/** GET routes of a controller, e.g. ['/health', '/health/live', '/health/ready']. */
export function getRoutes(controller: new (...args: never[]) => unknown): string[] {
  const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '').replace(/^\/+|\/+$/g, '');
  const proto = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .filter((key) => key !== 'constructor' && typeof proto[key] === 'function')
    .filter((key) => Reflect.getMetadata(METHOD_METADATA, proto[key] as object) === RequestMethod.GET)
    .map((key) => {
      const path = String(Reflect.getMetadata(PATH_METADATA, proto[key] as object) ?? '').replace(/^\/+|\/+$/g, '');
      return '/' + [base, path].filter(Boolean).join('/');
    });
}

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** A module of src/ imported only if it exists (files other branches add or remove, e.g. for issue 8). */
async function optionalSource(path: string): Promise<Record<string, any> | undefined> {
  const file = join(SRC, path);
  return existsSync(file) ? ((await import(pathToFileURL(file).href)) as Record<string, any>) : undefined;
}

/** GET routes on the public port (PORT): the Nest controllers' decorators (health, and metrics while it is there). */
export async function publicRoutes(): Promise<Set<string>> {
  const metrics = await optionalSource('metrics/metrics.controller.ts');
  return new Set([...getRoutes(HealthController), ...(metrics ? getRoutes(metrics.MetricsController) : [])]);
}

/**
 * GET routes on the management port (MANAGEMENT_PORT): the routes table of the management listener
 * (src/management/management.server.ts, issue 8), read from an instance built with stub dependencies (its
 * constructor only builds the table). Until that listener exists, health and /metrics are served on PORT, and the
 * public routes are returned.
 */
export async function managementRoutes(): Promise<Set<string>> {
  const management = await optionalSource('management/management.server.ts');
  if (!management) return publicRoutes();
  const server = new management.ManagementServer({}, {}) as { routes?: Record<string, unknown> };
  if (!server.routes) throw new Error('ManagementServer has no routes table: update test/deploy/support/app-facts.ts');
  return new Set(Object.keys(server.routes));
}

/**
 * Every series name /metrics can expose: the registry's metrics (with _bucket/_sum/_count for histograms and
 * summaries). MetricsService is built with stub dependencies: registering needs no database, only scraping does.
 */
let exported: Set<string> | undefined;
export function exportedMetricNames(): Set<string> {
  if (exported) return exported;
  const service = new MetricsService({} as never, { role: 'api' } as AppConfig, new MetricsRegistry());
  // The OpenAI gateway registers its own series in the same registry.
  new GatewayMetricsRecorder(service.registry, () => ({ inFlight: 0, queued: 0 }));
  const names = new Set<string>();
  for (const metric of service.registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  service.registry.clear();
  exported = names;
  return names;
}
