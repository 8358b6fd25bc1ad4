// PNG bytes in, 28×28 model inputs out (or, per image, why it is not a PNG it can read): what the
// image-decoding threads run, and the event loop for requests of small images (image-decoder.ts).
import { decodePng, PngError } from '../../lib/png-decode.js';
import { MAX_PNG_SIDE } from '../../schemas/retrieval.js';
import { resizeToModel } from './resize.js';

export type DecodedImage = { pixels: Float32Array } | { error: string };

/** The decoded images and the buffers that can move to another thread. */
export function decodeImages(pngs: Uint8Array[]): { reply: DecodedImage[]; transfer: ArrayBuffer[] } {
  const images: DecodedImage[] = pngs.map((png) => {
    try {
      return { pixels: resizeToModel(decodePng(png, MAX_PNG_SIDE)) };
    } catch (error) {
      if (error instanceof PngError) return { error: error.message };
      throw error;
    }
  });
  const transfer = images.flatMap((image) => ('pixels' in image ? [image.pixels.buffer as ArrayBuffer] : []));
  return { reply: images, transfer };
}
