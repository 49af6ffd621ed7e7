import { crc32, deflateSync } from 'node:zlib';

/*
 * Sample "car photos" for a first try of the API offline: small, valid PNGs
 * drawn here, deterministically (a car's silhouette on a plain background,
 * one colour per sample), so the repository ships no binary files and the
 * offline emulator's descriptions have real images to point at.
 */

const WIDTH = 160;
const HEIGHT = 96;

type Rgb = readonly [number, number, number];

export interface SamplePhoto {
  name: string;
  contentType: 'image/png';
  bytes: Buffer;
  description: string;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** Encodes an RGB raster as a PNG (8-bit truecolour, no filter). */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A side view of a car: body, cabin, windows, wheels, and a dent (darker patch) where `dent` says. */
function car(body: Rgb, dent: number): (x: number, y: number) => Rgb {
  const sky: Rgb = [200, 220, 235];
  const road: Rgb = [90, 90, 95];
  const glass: Rgb = [150, 190, 210];
  const tyre: Rgb = [25, 25, 25];
  const rim: Rgb = [180, 180, 185];
  const shade = (c: Rgb, f: number): Rgb => [Math.round(c[0] * f), Math.round(c[1] * f), Math.round(c[2] * f)];
  const wheels = [44, 116];
  return (x, y) => {
    for (const cx of wheels) {
      const d = Math.hypot(x - cx, y - 70);
      if (d < 7) return rim;
      if (d < 14) return tyre;
    }
    if (y >= 46 && y < 70 && x >= 20 && x < 140) return Math.abs(x - dent) < 10 && y > 52 && y < 64 ? shade(body, 0.55) : body;
    if (y >= 28 && y < 46 && x >= 48 - (y - 28) && x < 112 + (y - 28) / 2) {
      if (y >= 32 && y < 44 && ((x >= 56 && x < 78) || (x >= 82 && x < 106))) return glass;
      return body;
    }
    return y >= 78 ? road : sky;
  };
}

const SAMPLES: readonly [string, Rgb, number, string][] = [
  ['car-1.png', [180, 30, 35], 36, 'red saloon, dent on the front wing'],
  ['car-2.png', [30, 70, 160], 126, 'blue saloon, dent on the rear quarter'],
  ['car-3.png', [235, 235, 230], 84, 'white saloon, dented door'],
];

let cache: Map<string, SamplePhoto> | undefined;

/** The sample photos by file name, drawn once. */
export function samplePhotos(): Map<string, SamplePhoto> {
  cache ??= new Map(
    SAMPLES.map(([name, colour, dent, description]) => [
      name,
      { name, contentType: 'image/png', bytes: encodePng(WIDTH, HEIGHT, car(colour, dent)), description },
    ]),
  );
  return cache;
}

export const SAMPLE_NAMES = SAMPLES.map(([name]) => name);

/**
 * Where the API's request examples (Swagger, README) take their photos: this service's own samples, so "Try it out"
 * works offline. swagger.ts puts the configured PORT in place of 5000.
 */
export const EXAMPLE_SAMPLES_BASE = 'http://localhost:5000/samples';
