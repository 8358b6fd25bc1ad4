// A client that goes away, or a deadline that passes, frees the compute it asked for: waiting inferences of
// every model-backed route leave their queues, token generation stops at the deadline, and a job
// submission whose client left before it was queued queues nothing.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { buildApp } from '../src/server/app.js';
import {
  assertLive,
  listen,
  MODELS_DIR,
  modelsInOnePool,
  queueAnswers,
  startApp,
  stopApp,
  testConfig,
} from './helpers/app.js';
import { assertDecodingStopped, generatedTokens, LONG_GENERATION } from './helpers/generation.js';
import { pngBase64 } from './helpers/png-writer.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const demo = await readFashionMnist(MODELS_DIR, 'demo');
const png = (index: number) => pngBase64(demo.pixels.slice(index * 784, (index + 1) * 784));

/** Successful inferences of `model` so far, from /metrics. */
async function okInferences(app: FastifyInstance, model: string): Promise<number> {
  const metrics = (await app.inject('/metrics')).body;
  const line = new RegExp(
    `^meanserve_inference_request_success_total\\{model="${model}",version="1"\\} (\\d+)`,
    'm',
  );
  return Number(line.exec(metrics)?.[1] ?? 0);
}

describe('a disconnected client frees its place in the inference queue', () => {
  let app: FastifyInstance;
  let modelsDir: string;
  after(async () => {
    await stopApp(app);
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('for OIP inference, MeanFlow and flow-matching samples, embeddings and image search', async () => {
    // Every model in one pool: the long iterated-map inference holds the thread the others wait for. No
    // inline inference: the embedder's small batches would otherwise run on the event loop, never waiting,
    // whenever calibration at start-up finds them within INLINE_INFERENCE_MAX_US.
    modelsDir = await modelsInOnePool();
    app = await startApp({ MODELS_DIR: modelsDir, INLINE_INFERENCE_MAX_US: '0' });
    const base = await listen(app);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/collections',
      payload: { name: 'shirts', model: 'fmnist-embed-mf' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const post = (path: string, body: object, signal?: AbortSignal) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    const iterate = (steps: number, rows = 1) => ({
      inputs: [
        { name: 'x', shape: [rows, 8], datatype: 'FP32', data: new Array(rows * 8).fill(0.5) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
      ],
    });
    // One inference thread: a long inference runs, everything after it waits.
    const running = post('/v2/models/iterated-map/infer', iterate(1_000_000, 100));
    await waitFor('the long inference to run', async () => app.models.queueDepth() === 1);
    const waiters: Array<[string, object]> = [
      ['/v2/models/iterated-map/infer', iterate(10)],
      ['/v1/meanflow/samples', { n: 4, seed: 1 }],
      ['/v1/meanflow/samples', { model: 'flowmatching-fmnist', n: 4, steps: 64, seed: 1 }],
      ['/v1/embeddings', { input: [png(0), png(1)] }],
      ['/v1/collections/shirts/search', { image: png(2), k: 1 }],
    ];
    // One at a time, so that each waits on its own (two embedding requests arriving together would share
    // a batch).
    const clients: AbortController[] = [];
    const answers: Array<Promise<Response | Error>> = [];
    for (const [path, body] of waiters) {
      const client = new AbortController();
      clients.push(client);
      answers.push(post(path, body, client.signal).catch((error: Error) => error));
      await waitFor(`${path} to wait`, async () => app.models.queueDepth() === 1 + clients.length);
    }
    for (const client of clients) client.abort();
    for (const answer of answers) assert.equal(((await answer) as Error).name, 'AbortError');
    // They leave at once, while the long one still runs; none of them is computed afterwards.
    await waitFor('the waiting requests to leave', async () => app.models.queueDepth() === 1, 1000, 10);
    assert.equal((await running).status, 200);
    await waitFor('the thread to be idle', async () => app.models.queueDepth() === 0);
    for (const model of ['meanflow-fmnist', 'flowmatching-fmnist', 'fmnist-ae-decoder', 'fmnist-embed-mf'])
      assert.equal(await okInferences(app, model), 0, `${model} ran for a client that had left`);
    assert.equal(await okInferences(app, 'iterated-map'), 1);
    await assertLive(app);
  });
});

describe('a deadline stops token generation', () => {
  let app: FastifyInstance;
  after(() => stopApp(app));

  it('answers 503 deadline-exceeded and stops decoding instead of finishing the sequences', async () => {
    app = await startApp({ DEADLINES: 'inference=300' });
    const before = await generatedTokens(app);
    const response = await app.inject({ method: 'POST', url: '/v1/completions', payload: LONG_GENERATION });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().type, 'urn:meanserve:problem:deadline-exceeded');
    await assertDecodingStopped(app, before, 0.5);
    const quick = await app.inject({
      method: 'POST',
      url: '/v1/completions',
      payload: { prompt: 'Q:1+2=', temperature: 0 },
    });
    assert.equal(quick.statusCode, 200, quick.body);
    await assertLive(app);
  });
});

describe('a job submission whose client left before it was queued', () => {
  const prefix = uniquePrefix();
  let app: FastifyInstance;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  after(async () => {
    await stopApp(app);
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('queues nothing (Redis held by CLIENT PAUSE while the client leaves)', async () => {
    app = await buildApp(await testConfig({ REDIS_URL, REDIS_PREFIX: prefix }), { loadModels: false });
    await app.ready();
    const base = await listen(app);
    const type = 'mfg.finite';
    const params = { env: { name: 'left_right' }, algorithm: { name: 'fixed_point' } };
    await queueAnswers(app);
    assert.equal(await app.queue.queued(type), 0);
    // Every Redis command waits for 1.5 s: the submission is held at its queue-length check.
    await redis.client('PAUSE', 1500, 'ALL');
    const client = new AbortController();
    const submitted = fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type, params, seed: 1 }),
      signal: client.signal,
    }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    client.abort();
    assert.equal(((await submitted) as Error).name, 'AbortError');
    // Once Redis answers again the held handler goes on: it must not queue the job.
    const listed = await waitFor<{ data: unknown[] }>('Redis to answer again', async () => {
      const response = await app.inject(`/v1/jobs?type=${type}`);
      return response.statusCode === 200 ? response.json() : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual((await app.inject(`/v1/jobs?type=${type}`)).json().data, listed.data);
    assert.deepEqual(listed.data, []);
    assert.equal(await app.queue.queued(type), 0);
    // A client that stays gets its job.
    const kept = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type, params, seed: 1 } });
    assert.equal(kept.statusCode, 202, kept.body);
    await app.inject({ method: 'DELETE', url: `/v1/jobs/${kept.json().id}` });
    await assertLive(app);
  });
});
