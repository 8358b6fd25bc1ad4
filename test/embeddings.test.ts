import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { assertLive, errorContentType, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { pngBase64, writePng } from './helpers/png-writer.js';

const demo = await readFashionMnist(MODELS_DIR, 'demo');
const imageBytes = (index: number) => demo.pixels.slice(index * 784, (index + 1) * 784);
const asRows = (pixels: Uint8Array) =>
  Array.from({ length: 28 }, (_, y) => Array.from(pixels.subarray(y * 28, (y + 1) * 28), (v) => v / 255));

/** Each pixel repeated into a 2×2 block: area averaging back to 28×28 must give the original exactly. */
function doubled(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(56 * 56);
  for (let y = 0; y < 56; y++)
    for (let x = 0; x < 56; x++) out[y * 56 + x] = pixels[(y >> 1) * 28 + (x >> 1)] as number;
  return out;
}

const maxDifference = (a: number[], b: number[]) =>
  Math.max(...a.map((value, i) => Math.abs(value - (b[i] as number))));

describe('POST /v1/embeddings', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const embed = (body: object) => app.inject({ method: 'POST', url: '/v1/embeddings', payload: body });

  it('embeds PNGs and arrays alike, as unit vectors, in the OpenAI shape', async () => {
    const pixels = imageBytes(0);
    const rgb = writePng({
      width: 28,
      height: 28,
      colourType: 2,
      samples: [...pixels].flatMap((v) => [v, v, v]),
      filters: [0, 1, 2, 3, 4],
    });
    const response = await embed({
      input: [pngBase64(pixels), asRows(pixels), pngBase64(doubled(pixels), 56, 56), rgb.toString('base64')],
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.object, 'list');
    assert.equal(body.model, 'fmnist-embed-mf');
    assert.deepEqual(body.usage, { prompt_tokens: 4, total_tokens: 4 });
    const vectors = body.data.map((item: { embedding: number[] }) => item.embedding);
    assert.deepEqual(
      body.data.map((item: { index: number }) => item.index),
      [0, 1, 2, 3],
    );
    assert.equal(vectors[0].length, 64);
    const norm = Math.hypot(...vectors[0]);
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    for (const other of vectors.slice(1)) assert.ok(maxDifference(vectors[0], other) < 1e-5);
  });

  it('gives different images different vectors, and one PNG string is a list of one', async () => {
    const response = await embed({ input: pngBase64(imageBytes(1)) });
    assert.equal(response.statusCode, 200);
    const single = response.json().data[0].embedding;
    const pair = (await embed({ input: [pngBase64(imageBytes(0)), pngBase64(imageBytes(1))] })).json().data;
    assert.ok(maxDifference(single, pair[1].embedding) < 1e-5);
    assert.ok(maxDifference(pair[0].embedding, pair[1].embedding) > 0.01);
  });

  it('serves the baseline model by name', async () => {
    const response = await embed({ model: 'fmnist-embed-baseline', input: [asRows(imageBytes(0))] });
    assert.equal(response.statusCode, 200);
    assert.equal(response.json().model, 'fmnist-embed-baseline');
  });

  it('refuses a request whose images would decode to more than its pixel budget (413)', async () => {
    // Black 1024×1024 PNGs are about 1 KiB each: small bodies, 1 Mi pixels each to decode.
    const big = pngBase64(new Uint8Array(1024 * 1024), 1024, 1024);
    const ok = await embed({ input: new Array(16).fill(big) });
    assert.equal(ok.statusCode, 200, ok.body);
    const response = await embed({ input: new Array(17).fill(big) });
    assert.equal(response.statusCode, 413, response.body);
    assert.equal(response.json().errors[0].path, '/body/input/16');
    await assertLive(app);
  });

  it('refuses bad input with problem details naming the field', async () => {
    const notPng = Buffer.from('definitely not a png').toString('base64');
    const cases: Array<[object, number, string]> = [
      [{ input: ['@@@'] }, 400, '/body/input/0'],
      [{ input: [pngBase64(imageBytes(0)), notPng] }, 400, '/body/input/1'],
      [{ input: [pngBase64(imageBytes(0)).slice(0, 200)] }, 400, '/body/input/0'],
      [{ input: [asRows(imageBytes(0)).slice(0, 27)] }, 400, '/body/input'],
      [{ input: [[...asRows(imageBytes(0)).slice(0, 27), new Array(28).fill(2)]] }, 400, '/body/input'],
      [{ input: [] }, 400, '/body/input'],
      [{ input: ['x'], extra: 1 }, 400, '/body/extra'],
      [{ model: 'no-such-model', input: [asRows(imageBytes(0))] }, 404, ''],
      [{ model: 'fmnist-classifier', input: [asRows(imageBytes(0))] }, 422, ''],
    ];
    for (const [body, status, path] of cases) {
      const response = await embed(body);
      assert.equal(response.statusCode, status, `${JSON.stringify(body).slice(0, 80)}: ${response.body}`);
      assert.match(response.headers['content-type'] as string, errorContentType('/v1/embeddings'));
      assert.equal(response.json().error.message, response.json().detail);
      if (path !== '') {
        const paths = (response.json().errors ?? []).map((error: { path: string }) => error.path);
        assert.ok(
          paths.some((p: string) => p.startsWith(path)),
          `${paths} should name ${path}`,
        );
      }
    }
    await assertLive(app);
  });
});
