// Area-average resampling of a decoded image to the 28×28 model input: each output pixel is the mean of the
// source area it covers, with fractional edge weights (a 56×56 image of 2×2 blocks gives back its 28×28
// original exactly).
import type { GreyImage } from '../../lib/png-decode.js';
import { IMAGE_SIDE } from '../../schemas/common.js';

export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;

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
