// What clients send as an image to embed → the model's input: 784 intensities in [0, 1], row-major 28×28.
// An item is a base64 PNG (any size up to MAX_PNG_SIDE, resized to 28×28 by area averaging: each output
// pixel is the mean of the source area it covers, with fractional edge weights) or a 28×28 array of
// intensities in [0, 1]. Errors name the item's JSON path.
import { decodePng, type GreyImage, PngError, PngTooLargeError } from '../../lib/png-decode.js';
import { InvalidInputError, TooLargeError } from '../../server/errors.js';
import { IMAGE_SIZE } from '../generator.js';

/** The Fashion-MNIST side every image model here takes: the generators' output size. */
export const IMAGE_SIDE = IMAGE_SIZE;
export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;
export const MAX_PNG_SIDE = 1024;
/** Longest base64 string accepted for one image (a 1024×1024 8-bit PNG compresses well below this). */
export const MAX_PNG_BASE64_LENGTH = 4 * 1024 * 1024;

/** Decoded PNG pixels one request may cost (16 images of 1024×1024): decoding is synchronous work. */
export const MAX_PIXELS_PER_REQUEST = 16 * MAX_PNG_SIDE * MAX_PNG_SIDE;

export type ImageItem = string | number[][];

/** Counts decoded pixels across the images of one request. */
export class PixelBudget {
  constructor(public left = MAX_PIXELS_PER_REQUEST) {}
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function imageFromItem(item: ImageItem, path: string, budget: PixelBudget): Float32Array {
  return typeof item === 'string' ? imageFromPng(item, path, budget) : imageFromArray(item, path);
}

function imageFromPng(base64: string, path: string, budget: PixelBudget): Float32Array {
  const text = base64.replace(/^data:image\/png;base64,/, '');
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new InvalidInputError(`${path} is not base64`, [{ path, message: 'must be a base64-encoded PNG' }]);
  }
  let image: GreyImage;
  try {
    image = decodePng(Buffer.from(text, 'base64'), MAX_PNG_SIDE, budget.left);
  } catch (error) {
    if (error instanceof PngTooLargeError) {
      throw new TooLargeError(
        `${path}: the images of one request may hold ${MAX_PIXELS_PER_REQUEST} pixels in all; send fewer or smaller`,
        [{ path, message: error.message }],
      );
    }
    if (!(error instanceof PngError)) throw error;
    throw new InvalidInputError(`${path}: ${error.message}`, [{ path, message: error.message }]);
  }
  budget.left -= image.width * image.height;
  return resizeToModel(image);
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

/** Area-average resampling of an 8-bit grey image to 28×28 intensities in [0, 1]. */
export function resizeToModel(image: GreyImage): Float32Array {
  const out = new Float32Array(IMAGE_PIXELS);
  if (image.width === IMAGE_SIDE && image.height === IMAGE_SIDE) {
    for (let i = 0; i < IMAGE_PIXELS; i++) out[i] = (image.pixels[i] as number) / 255;
    return out;
  }
  const xWeights = coverage(image.width);
  const yWeights = coverage(image.height);
  for (let oy = 0; oy < IMAGE_SIDE; oy++) {
    for (let ox = 0; ox < IMAGE_SIDE; ox++) {
      let sum = 0;
      let area = 0;
      for (const [sy, wy] of yWeights[oy] as Array<[number, number]>) {
        for (const [sx, wx] of xWeights[ox] as Array<[number, number]>) {
          sum += (image.pixels[sy * image.width + sx] as number) * wy * wx;
          area += wy * wx;
        }
      }
      out[oy * IMAGE_SIDE + ox] = sum / area / 255;
    }
  }
  return out;
}

/** For each of the 28 output cells along one axis, the source indices it overlaps and by how much. */
function coverage(sourceLength: number): Array<Array<[number, number]>> {
  const scale = sourceLength / IMAGE_SIDE;
  const cells: Array<Array<[number, number]>> = [];
  for (let o = 0; o < IMAGE_SIDE; o++) {
    const start = o * scale;
    const end = start + scale;
    const weights: Array<[number, number]> = [];
    for (let s = Math.floor(start); s < Math.min(sourceLength, Math.ceil(end)); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 1e-12) weights.push([s, overlap]);
    }
    cells.push(weights);
  }
  return cells;
}
