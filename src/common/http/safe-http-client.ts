import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import { AppConfig } from '../../config/app-config.js';
import { createSafeDispatcher, type NetworkPolicy } from './safe-dispatcher.js';
import {
  probeImage,
  safeRequest,
  type ImageProbe,
  type OutboundTarget,
  type ProbeImageOptions,
  type SafeRequestOptions,
  type SafeResponse,
} from './safe-request.js';

/**
 * Outbound HTTP to URLs that clients supply (webhooks, image checks), usable
 * without Nest: one guarded connection pool per policy. Close it when done.
 */
export class OutboundHttp implements OutboundTarget {
  readonly dispatcher: Dispatcher;

  constructor(readonly policy: NetworkPolicy) {
    this.dispatcher = createSafeDispatcher(policy);
  }

  request(url: string, options: SafeRequestOptions): Promise<SafeResponse> {
    return safeRequest(url, options, this);
  }

  probeImage(url: string, options: ProbeImageOptions): Promise<ImageProbe> {
    return probeImage(url, options, this);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The injectable form, configured by ALLOW_PRIVATE_NETWORKS (AppConfig.network). */
@Injectable()
export class SafeHttpClient extends OutboundHttp implements OnModuleDestroy {
  constructor(config: AppConfig) {
    super({ allowPrivateNetworks: config.network.allowPrivateNetworks });
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }
}
