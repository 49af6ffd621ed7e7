import type { AddressInfo } from 'node:net';
import { BatchEngine } from './batch-engine.js';
import { systemEmulatorClock, type EmulatorClock } from './emulator-clock.js';
import { batchRoutes } from './batches.routes.js';
import { FileStore } from './file-store.js';
import { fileRoutes } from './files.routes.js';
import { FaultControl } from './faults.js';
import { faultRoutes } from './faults.routes.js';
import { createEmulatorServer } from './http-server.js';
import { ResponsesService, responsesRoutes } from './responses.service.js';
import { StatsRecorder, type EmulatorStats } from './stats.js';
import { createSafeDispatcher, type NetworkPolicy } from '../common/http/safe-dispatcher.js';
import type { OutboundTarget } from '../common/http/safe-request.js';

export { FaultControl } from './faults.js';
export type { BatchFault, BatchFaultEffect, DelayFault, Fault, HttpFault } from './faults.js';
export type { EmulatorStats } from './stats.js';
export type { EmulatorClock } from './emulator-clock.js';

export interface EmulatorOptions {
  /** 0 = a random free port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The accepted bearer key; by default any non-empty bearer token is accepted. */
  apiKey?: string;
  /** Time a batch takes from `in_progress` to `completed` (default 5000 ms). */
  batchDurationMs?: number;
  /** The batch lifecycle's time (default: real time); tests pass a manual clock to move batches on without waiting. */
  clock?: EmulatorClock;
  /** Timeout of each image download, redirects included (default 5000 ms). */
  imageFetchTimeoutMs?: number;
  /**
   * Which addresses image downloads may reach, checked like the service's own
   * outbound calls (src/common/http), on every redirect hop. Default: loopback
   * allowed (local image hosts, as in the tests and offline mode), private,
   * link-local and metadata addresses refused — as OpenAI could never reach them.
   */
  imageNetwork?: NetworkPolicy;
  log?: (line: string) => void;
}

export interface RunningEmulator {
  /** Base URL including `/v1` — what `OPENAI_BASE_URL` / the SDK's `baseURL` should be. */
  url: string;
  port: number;
  close(): Promise<void>;
  faults: FaultControl;
  stats(): EmulatorStats;
}

/** The image downloads' guarded connection pool (plain class: the emulator has no Nest dependency). */
class OutboundHttpTarget implements OutboundTarget {
  readonly dispatcher;
  constructor(readonly policy: NetworkPolicy) {
    this.dispatcher = createSafeDispatcher(policy);
  }
}

/** Batch input files reach 200 MB; leave room for the multipart envelope. */
const MAX_BODY_BYTES = 220 * 1024 * 1024;

/** Starts an in-memory OpenAI emulator (Files, Batches, Responses) on loopback. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const log = options.log ?? (() => undefined);
  const stats = new StatsRecorder();
  const faults = new FaultControl();
  const files = new FileStore();
  const images = new OutboundHttpTarget(options.imageNetwork ?? { allowPrivateNetworks: false, allowLoopback: true });
  const responses = new ResponsesService(stats, options.imageFetchTimeoutMs ?? 5000, images);
  const batches = new BatchEngine({
    files,
    responses,
    stats,
    durationMs: options.batchDurationMs ?? 5000,
    clock: options.clock ?? systemEmulatorClock,
    log,
  });

  const server = createEmulatorServer({
    routes: [
      ...faultRoutes(faults),
      ...fileRoutes(files, stats),
      ...batchRoutes(batches, files, faults),
      ...responsesRoutes(responses, stats),
    ],
    apiKey: options.apiKey,
    faults,
    stats,
    log,
    maxBodyBytes: MAX_BODY_BYTES,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    faults,
    stats: () => stats.snapshot(faults.injectedCount),
    close() {
      closing ??= new Promise<void>((resolve) => {
        batches.close();
        void images.dispatcher.close().catch(() => undefined);
        server.close(() => resolve());
        // Keep-alive sockets (the SDK pools connections) would hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
