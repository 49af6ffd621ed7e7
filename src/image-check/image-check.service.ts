import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { SafeHttpClient } from '../common/http/safe-http-client.js';
import type { ImageProbe } from '../common/http/safe-request.js';
import { AppConfig } from '../config/app-config.js';

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
export class ImageCheckService {
  constructor(
    private readonly config: AppConfig,
    private readonly http: SafeHttpClient,
  ) {}

  /** Probes every distinct URL once; the map answers for each of them. */
  async probeAll(urls: Iterable<string>, signal?: AbortSignal): Promise<Map<string, ImageProbe>> {
    const distinct = [...new Set(urls)];
    const { imageCheckTimeoutMs, imageCheckConcurrency } = this.config.pipeline;
    const limit = pLimit(imageCheckConcurrency);
    // Once the signal fires no further URL is started; the ones in flight are aborted by it.
    const probes = await limit.map(distinct, (url) => {
      signal?.throwIfAborted();
      return this.http.probeImage(url, { timeoutMs: imageCheckTimeoutMs, maxBytes: MAX_IMAGE_BYTES, signal });
    });
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

  /** The URLs of a checked lot that go to OpenAI: its images minus the ones recorded missing. */
  static usableUrls(images: readonly { url: string }[], missing: readonly string[]): string[] {
    const skip = new Set(missing);
    return [...new Set(images.map((image) => image.url))].filter((url) => !skip.has(url));
  }

  /** The stored error of a lot none of whose images could be used. */
  static noUsableImageError(images: LotImages): string {
    if (images.missing.length === 0) return 'The lot has no images to analyse.';
    const details = images.missing.map((url) => `${url}: ${images.reasons.get(url) ?? 'unreachable'}`).join('; ');
    return `No usable image: none of the lot's ${images.missing.length} image(s) could be fetched as an image of at most 10 MB (${details}).`;
  }
}
