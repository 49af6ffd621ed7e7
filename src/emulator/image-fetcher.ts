import { ApiError, invalidRequest } from './api-error.js';
import type { ImageRef } from './responses-request.js';

export interface ImageFetcherOptions {
  timeoutMs: number;
  /** Called once per HTTP(S) download attempt. */
  onFetch(): void;
}

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
    throw invalidRequest(`Invalid '${image.param}'. Expected a valid URL, but got a value with an invalid format.`, image.param, 'invalid_value');
  }
  options.onFetch();
  try {
    const response = await fetch(image.url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: 'follow' });
    const body = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? '';
    if (!response.ok || !contentType.toLowerCase().startsWith('image/')) throw new Error('not an image');
    return body.length;
  } catch {
    throw downloadError(image.url);
  }
}

export function downloadError(url: string): ApiError {
  return invalidRequest(`Error while downloading ${url}.`, 'url', 'invalid_value');
}
