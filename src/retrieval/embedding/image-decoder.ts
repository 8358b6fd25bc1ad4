// The image-decoding threads of the API process (IMAGE_DECODE_THREADS): PNGs from clients are decoded and
// resampled there, one request's images per task, so a request of 16 large images takes a thread, not the
// event loop. Routes reach it as `fastify.images`.
import type { Log } from '../../lib/log.js';
import { ThreadPool } from '../../lib/thread-pool.js';
import type { DecodedImage } from './image-decode-thread.js';

export class ImageDecoder {
  private readonly pool: ThreadPool<Uint8Array[], DecodedImage[]>;
  /** Images handed to the threads since start (observable; a test reads it). */
  decoded = 0;

  constructor(threads: number, log: Log) {
    this.pool = new ThreadPool(import.meta.url, 'image-decode-thread', threads, (error) =>
      log.error({ err: error }, 'image decoding thread failed'),
    );
  }

  /** Decodes PNGs to model inputs; their buffers move to the thread (the caller must not use them again). */
  decode(pngs: Uint8Array[], signal?: AbortSignal): Promise<DecodedImage[]> {
    const buffers = [...new Set(pngs.map((png) => png.buffer as ArrayBuffer))];
    this.decoded += pngs.length;
    return this.pool.run(pngs, buffers, signal);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
