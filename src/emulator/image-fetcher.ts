import { safeRequest, type OutboundTarget } from '../common/http/safe-request.js';
import { ApiError, invalidRequest } from './api-error.js';
import type { ImageRef } from './responses-request.js';

export interface ImageFetcherOptions {
  timeoutMs: number;
  /** Called once per HTTP(S) download attempt. */
  onFetch(): void;
  /** The service's SSRF-safe outbound client (src/common/http): its policy decides which addresses may be reached. */
  target: OutboundTarget;
}

/** Redirects followed at most, like a browser-grade client; each hop is checked like the first URL. */
export const MAX_IMAGE_REDIRECTS = 5;
/** Largest image read; past it the download is abandoned (OpenAI refuses such images too). */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const EMULATOR_USER_AGENT = 'OpenAI-Emulator-Image-Fetcher/1.0';

const DATA_URL = /^data:([^;,]+)(;base64)?,/i;

/**
 * Images are really downloaded, as OpenAI does: an unreachable URL, a non-2xx
 * status or a body that is not an image fails the whole request with OpenAI's
 * 400 "Error while downloading <url>.". Data URLs are checked, not fetched.
 * Resolves with the total number of bytes read.
 */
export async function fetchImages(images: readonly ImageRef[], options: ImageFetcherOptions): Promise<number> {
  const results = await Promise.allSettled(images.map((image) => fetchOne(image, options)));
  let bytes = 0;
  for (const result of results) {
    // Report the first failing image in input order, deterministically.
    if (result.status === 'rejected') throw result.reason;
    bytes += result.value;
  }
  return bytes;
}

async function fetchOne(image: ImageRef, options: ImageFetcherOptions): Promise<number> {
  const dataUrl = DATA_URL.exec(image.url);
  if (dataUrl) {
    if (!dataUrl[1].toLowerCase().startsWith('image/')) {
      throw invalidRequest(
        `Invalid '${image.param}'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME type '${dataUrl[1]}'.`,
        image.param,
        'invalid_image_format',
      );
    }
    return Math.floor(((image.url.length - dataUrl[0].length) * 3) / 4);
  }
  if (!/^https?:\/\//i.test(image.url)) {
    throw invalidRequest(
      `Invalid '${image.param}'. Expected a valid URL, but got a value with an invalid format.`,
      image.param,
      'invalid_value',
    );
  }
  options.onFetch();
  try {
    return await download(image.url, options);
  } catch {
    throw downloadError(image.url);
  }
}

/**
 * Downloads through the SSRF-safe client, which never follows redirects by
 * itself: each hop is followed here and goes through the same checks (scheme,
 * host name, connect-time address), so a public URL cannot redirect the
 * download to loopback, a private network or a metadata service.
 */
async function download(first: string, options: ImageFetcherOptions): Promise<number> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url = first;
  for (let hop = 0; ; hop++) {
    const response = await safeRequest(
      url,
      // Its own User-Agent: image hosts (and tests) tell OpenAI's downloads from the service's image checks.
      {
        method: 'GET',
        headers: { accept: 'image/*', 'user-agent': EMULATOR_USER_AGENT },
        timeoutMs: options.timeoutMs,
        maxBytes: MAX_IMAGE_BYTES,
        signal,
      },
      options.target,
    );
    const location = response.headers.location;
    if (REDIRECTS.has(response.status) && location) {
      if (hop >= MAX_IMAGE_REDIRECTS) throw new Error('too many redirects');
      url = new URL(location, url).href;
      continue;
    }
    const contentType = (response.headers['content-type'] ?? '').toLowerCase();
    if (response.status < 200 || response.status > 299 || !contentType.startsWith('image/') || response.truncated)
      throw new Error('not an image');
    return response.body.length;
  }
}

export function downloadError(url: string): ApiError {
  return invalidRequest(`Error while downloading ${url}.`, 'url', 'invalid_value');
}
