// What clients send as an image to embed → the model's input: 784 intensities in [0, 1], row-major 28×28.
// An item is a base64 PNG (any size up to MAX_PNG_SIDE, resized to 28×28 by area averaging: each output
// pixel is the mean of the source area it covers, with fractional edge weights) or a 28×28 array of
// intensities in [0, 1]. Errors name the item's JSON path.

import { InvalidInputError, TooLargeError } from '../../errors.js';
import type { Abortable } from '../../lib/abortable.js';
import { PngError, type PngHeader, readPngHeader } from '../../lib/png-decode.js';
import { IMAGE_SIDE } from '../../schemas/common.js';
import { MAX_PNG_SIDE } from '../../schemas/retrieval.js';
import type { ImageDecoder } from './image-decoder.js';
import { IMAGE_PIXELS } from './resize.js';

/** Decoded PNG pixels one request may cost (16 images of 1024×1024), checked from the headers first. */
export const MAX_PIXELS_PER_REQUEST = 16 * MAX_PNG_SIDE * MAX_PNG_SIDE;

export type ImageItem = string | number[][];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a base64 PNG (a view into Node's buffer pool when small: ImageDecoder copies what moves). */
function pngBytesOf(base64: string, path: string): Uint8Array {
  const text = base64.startsWith('data:') ? base64.replace(/^data:image\/png;base64,/, '') : base64;
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new InvalidInputError(`${path} is not base64`, [{ path, message: 'must be a base64-encoded PNG' }]);
  }
  return Buffer.from(text, 'base64');
}

/**
 * The model input of every item, in order. Arrays are checked here; PNGs are checked from their headers —
 * each readable, the request within its pixel budget — before any is decoded, then decoded and resampled
 * (image-decoder.ts: in the image-decoding threads unless they are small). Errors name the item's path.
 */
export async function imagesFromItems(
  items: ImageItem[],
  paths: string[],
  decoder: ImageDecoder,
  signal?: Abortable,
): Promise<Float32Array[]> {
  const images: Array<Float32Array | undefined> = [];
  const pngs: Array<{ bytes: Uint8Array; at: number }> = [];
  let pixels = 0;
  items.forEach((item, at) => {
    const path = paths[at] as string;
    if (typeof item !== 'string') {
      images[at] = imageFromArray(item, path);
      return;
    }
    const bytes = pngBytesOf(item, path);
    const header = pngHeaderOf(bytes, path);
    pixels += header.width * header.height;
    if (pixels > MAX_PIXELS_PER_REQUEST) {
      throw new TooLargeError(
        `${path}: the images of one request may hold ${MAX_PIXELS_PER_REQUEST} pixels in all; send fewer or smaller`,
        [{ path, message: `this image brings the request to ${pixels} pixels` }],
      );
    }
    pngs.push({ bytes, at });
  });
  if (pngs.length > 0) {
    const decoded = await decoder.decode(
      pngs.map(({ bytes }) => bytes),
      pixels,
      signal,
    );
    decoded.forEach((image, index) => {
      const { at } = pngs[index] as { at: number };
      if ('error' in image) {
        const path = paths[at] as string;
        throw new InvalidInputError(`${path}: ${image.error}`, [{ path, message: image.error }]);
      }
      images[at] = image.pixels;
    });
  }
  return images as Float32Array[];
}

function pngHeaderOf(bytes: Uint8Array, path: string): PngHeader {
  try {
    return readPngHeader(bytes, MAX_PNG_SIDE);
  } catch (error) {
    if (!(error instanceof PngError)) throw error;
    throw new InvalidInputError(`${path}: ${error.message}`, [{ path, message: error.message }]);
  }
}

function imageFromArray(rows: number[][], path: string): Float32Array {
  const wrongShape = rows.length !== IMAGE_SIDE || rows.some((row) => row.length !== IMAGE_SIDE);
  if (wrongShape) {
    const message = `must be ${IMAGE_SIDE} rows of ${IMAGE_SIDE} intensities in [0, 1]`;
    throw new InvalidInputError(`${path} ${message}`, [{ path, message }]);
  }
  const pixels = new Float32Array(IMAGE_PIXELS);
  rows.forEach((row, y) => {
    row.forEach((value, x) => {
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        const at = `${path}/${y}/${x}`;
        throw new InvalidInputError(`${at} is ${value}; intensities are in [0, 1]`, [
          { path: at, message: 'must be a number in [0, 1]' },
        ]);
      }
      pixels[y * IMAGE_SIDE + x] = value;
    });
  });
  return pixels;
}
