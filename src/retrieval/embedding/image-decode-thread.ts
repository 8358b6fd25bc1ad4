// Entry point of an image-decoding thread: PNG bytes in, 28×28 model inputs out (or, per image, why it is
// not a PNG it can read), so that inflating and resampling large images never holds the event loop.
import { decodePng, PngError } from '../../lib/png-decode.js';
import { serveTasks } from '../../lib/thread-pool.js';
import { MAX_PNG_SIDE } from '../../schemas/retrieval.js';
import { resizeToModel } from './resize.js';

export type DecodedImage = { pixels: Float32Array } | { error: string };

serveTasks((pngs: Uint8Array[]) => {
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
});
