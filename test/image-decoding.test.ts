// PNG decoding off the event loop: the pixel budget of a request is checked from the images' headers before
// any is decoded (17 images of 1024×1024 are a 413 with nothing decoded), and liveness is answered while 8
// clients each send the largest request allowed — 16 blank 1024×1024 16-bit RGBA PNGs — which once held the
// event loop for seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { encodeGreyPng, pngChunk } from '../src/lib/png-encode.js';
import { ThreadPool } from '../src/lib/thread-pool.js';
import { INLINE_PIXELS } from '../src/retrieval/embedding/image-decoder.js';
import { MAX_PNG_SIDE } from '../src/schemas/retrieval.js';
import { assertLive, listen, startApp, stopApp } from './helpers/app.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The IHDR chunk of a square 16-bit RGBA image: the most bytes per pixel a client can make the server inflate. */
function rgba16Header(side: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 16;
  header[9] = 6;
  return pngChunk('IHDR', header);
}

/** A blank square PNG, 16-bit RGBA; with `claimed`, behind a first IHDR of that side. */
function blankPng(side: number, claimed?: number): string {
  const raw = Buffer.alloc((1 + side * 8) * side);
  return Buffer.concat([
    SIGNATURE,
    ...(claimed === undefined ? [] : [rgba16Header(claimed)]),
    rgba16Header(side),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]).toString('base64');
}

describe('image decoding', () => {
  let app: FastifyInstance;
  let base: string;
  const largest = blankPng(MAX_PNG_SIDE);
  before(async () => {
    app = await startApp({});
    base = await listen(app);
  });
  after(() => stopApp(app));

  it('refuses 17 images of 1024×1024 with 413 from their headers, decoding none', async () => {
    const before = app.images.decoded;
    const response = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { input: Array.from({ length: 17 }, () => largest) },
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().errors[0].path, '/body/input/16');
    assert.equal(app.images.decoded, before, 'no image was decoded');
    // A broken image after a good one: 400 naming it, also before any decoding.
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { input: [largest, Buffer.from('not a png at all').toString('base64')] },
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().errors[0].path, '/body/input/1');
    assert.equal(app.images.decoded, before);
  });

  it('refuses a PNG whose second IHDR is larger than its first, which the budget and the inline choice read', async () => {
    // 1×1 by its first header, so decoded on the event loop; 1024×1024 16-bit RGBA by its second: 8 MB to
    // inflate and unfilter from 8 KB. 1 024 such images held the event loop 204 s.
    const liar = blankPng(MAX_PNG_SIDE, 1);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { input: [encodeGreyPng(new Uint8Array(784), 28, 28).toString('base64'), liar] },
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.deepEqual(response.json().errors, [
      { path: '/body/input/1', message: 'PNG has a second IHDR chunk' },
    ]);
    await assertLive(app);
  });

  it('answers liveness while 8 clients send the largest image requests allowed', async () => {
    const body = JSON.stringify({ input: Array.from({ length: 16 }, () => largest) });
    let finished = 0;
    const requests = Array.from({ length: 8 }, () =>
      fetch(`${base}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then(async (response) => {
        finished++;
        return { status: response.status, body: await response.json() };
      }),
    );
    // Liveness over its own connections, again and again until the last embedding answers.
    let livesWhileBusy = 0;
    const live = (async () => {
      while (finished < requests.length) {
        const response = await fetch(`${base}/health/live`);
        assert.equal(response.status, 200);
        if (finished === 0) livesWhileBusy++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const answers = await Promise.all(requests);
    await live;
    for (const answer of answers) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 300));
      assert.equal(answer.body.data.length, 16);
    }
    assert.ok(livesWhileBusy >= 5, `liveness answered ${livesWhileBusy} times before the first embedding`);
    // Blank images embed to the vector of a blank 28×28 array, decoded or not.
    const array = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { input: [Array.from({ length: 28 }, () => new Array(28).fill(0))] },
    });
    assert.deepEqual(answers[0]?.body.data[0].embedding, array.json().data[0].embedding);
    await assertLive(app);
  });

  it('decodes small images on the event loop exactly as the threads do, and refuses the same bad ones', async () => {
    const pngs = () => [
      encodeGreyPng(
        new Uint8Array(784).map((_, i) => (i * 37) % 256),
        28,
        28,
      ),
      encodeGreyPng(
        new Uint8Array(30 * 20).map((_, i) => (i * 11) % 256),
        30,
        20,
      ),
      new Uint8Array([1, 2, 3]),
    ];
    const small = 784 + 600;
    assert.ok(small <= INLINE_PIXELS);
    const inline = await app.images.decode(pngs(), small);
    const threaded = await app.images.decode(pngs(), INLINE_PIXELS + 1);
    assert.deepEqual(inline, threaded);
    assert.ok('pixels' in (inline[0] as object) && 'error' in (inline[2] as object));
  });

  it('embeds a small PNG decoded in a thread from a base64 body (a view into a shared buffer), twice', async () => {
    // 100×100 blank: over the event-loop threshold, yet a few hundred bytes, so its decoded body is a slice
    // of Node's Buffer pool, which cannot be transferred to a thread (Node 22 throws where 20 copied).
    const small = blankPng(100);
    assert.ok(100 * 100 > INLINE_PIXELS && Buffer.from(small, 'base64').length < 4096);
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/embeddings',
        payload: { input: [small] },
      });
      assert.ok(response.statusCode < 500, response.body);
    }
    await assertLive(app);
  });

  it('fails only the request whose buffers cannot be sent to a thread; the thread takes the next one', async () => {
    const decoderModule = new URL('../src/retrieval/embedding/image-decoder.ts', import.meta.url).href;
    const pool = new ThreadPool<Uint8Array[], unknown[]>(decoderModule, 'image-decode-thread', 1, () => {});
    try {
      const png = new Uint8Array(encodeGreyPng(new Uint8Array(100 * 100), 100, 100));
      // A buffer listed twice cannot be transferred, on every Node version.
      await assert.rejects(pool.run([png], [png.buffer, png.buffer]), { name: 'DataCloneError' });
      const [decoded] = await pool.run([new Uint8Array(png)]);
      assert.ok(typeof decoded === 'object' && decoded !== null && 'pixels' in decoded);
    } finally {
      await pool.close();
    }
  });
});
