// The image-decoding threads of the API process (IMAGE_DECODE_THREADS): PNGs from clients are decoded and
// resampled there, one request's images per task, so a request of 16 large images takes a thread, not the
// event loop. A request whose images are small by their headers (INLINE_PIXELS in all, a few 28×28
// images) is decoded on the event loop instead: that takes microseconds, less than the hop to a thread
// and back, and the decoder inflates no more than that header says (a second IHDR is refused). Routes
// reach it as `fastify.images`.
import type { Abortable } from '../../lib/abortable.js';
import type { Log } from '../../lib/log.js';
import { ThreadPool } from '../../lib/thread-pool.js';
import { type DecodedImage, decodeImages } from './image-decode.js';

/** Pixels (by the PNG headers) up to which a request's images are decoded on the event loop. */
export const INLINE_PIXELS = 64 * 64;

export class ImageDecoder {
  private readonly pool: ThreadPool<Uint8Array[], DecodedImage[]>;
  /** Images handed to the threads since start (observable; a test reads it). */
  decoded = 0;

  constructor(threads: number, log: Log) {
    this.pool = new ThreadPool(import.meta.url, 'image-decode-thread', threads, (error) =>
      log.error({ err: error }, 'image decoding thread failed'),
    );
  }

  /**
   * Decodes PNGs holding `pixels` pixels in all (by their headers) to model inputs; their buffers may move
   * to a thread (the caller must not use them again).
   */
  async decode(pngs: Uint8Array[], pixels: number, signal?: Abortable): Promise<DecodedImage[]> {
    this.decoded += pngs.length;
    if (pixels <= INLINE_PIXELS) return decodeImages(pngs).reply;
    // Only whole buffers this request owns move; a view into a shared one (Node's Buffer pool holds small
    // base64-decoded bodies) is copied first: such a pool cannot be transferred (Node 22 refuses it).
    const owned = pngs.map((png) =>
      png.byteOffset === 0 && png.byteLength === png.buffer.byteLength ? png : new Uint8Array(png),
    );
    const buffers = [...new Set(owned.map((png) => png.buffer as ArrayBuffer))];
    return this.pool.run(owned, buffers, signal);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
