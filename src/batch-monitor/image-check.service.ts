import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import { probeImage, type ImageProbe } from '../common/http/safe-request.js';
import { createSafeDispatcher } from '../common/http/safe-dispatcher.js';
import { AppConfig } from '../config/app-config.js';
import { mapWithConcurrency } from './concurrency.js';

/** 002: an image larger than this is not sent to OpenAI. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

/** What the check found for one lot: the URLs to send and the ones reported missing. */
export interface LotImages {
  usable: string[];
  missing: string[];
  /** URL → why it is missing (logged and, for a lot with no usable image, stored in its error). */
  reasons: Map<string, string>;
}

/**
 * Checks image URLs before they go to OpenAI (which would fail the whole
 * request for one bad URL). Each distinct URL is fetched once per call, with
 * bounded concurrency and a short timeout, through the SSRF-safe client.
 */
@Injectable()
export class ImageCheckService implements OnApplicationShutdown {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly config: AppConfig) {
    this.dispatcher = createSafeDispatcher(config.network);
  }

  /** Probes every distinct URL once; the map answers for each of them. */
  async probeAll(urls: Iterable<string>, signal?: AbortSignal): Promise<Map<string, ImageProbe>> {
    const distinct = [...new Set(urls)];
    const target = { dispatcher: this.dispatcher, policy: this.config.network };
    const { imageCheckTimeoutMs, imageCheckConcurrency } = this.config.pipeline;
    const probes = await mapWithConcurrency(
      distinct,
      imageCheckConcurrency,
      (url) => probeImage(url, { timeoutMs: imageCheckTimeoutMs, maxBytes: MAX_IMAGE_BYTES, signal }, target),
      signal,
    );
    return new Map(distinct.map((url, i) => [url, probes[i]]));
  }

  /** Splits a lot's images by the probes (order kept, duplicates sent once). */
  static split(images: readonly { url: string }[], probes: Map<string, ImageProbe>): LotImages {
    const result: LotImages = { usable: [], missing: [], reasons: new Map() };
    for (const url of new Set(images.map((image) => image.url))) {
      const probe = probes.get(url);
      if (probe?.ok) result.usable.push(url);
      else {
        result.missing.push(url);
        result.reasons.set(url, probe ? probe.reason : 'not checked');
      }
    }
    return result;
  }

  /** The stored error of a lot none of whose images could be used. */
  static noUsableImageError(images: LotImages): string {
    if (images.missing.length === 0) return 'The lot has no images to analyse.';
    const details = images.missing.map((url) => `${url}: ${images.reasons.get(url) ?? 'unreachable'}`).join('; ');
    return `No usable image: none of the lot's ${images.missing.length} image(s) could be fetched as an image of at most 10 MB (${details}).`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}
