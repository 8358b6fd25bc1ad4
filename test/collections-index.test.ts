// collections.index bulk-loads the demo subset (the first 2 000 test images) into a collection, on both
// queue backends; searching it through the API must reproduce the served model's offline retrieval
// metrics on that subset (computed by PyTorch in training/export_embedding.py) within 0.5 points.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { apiRetrievalMetrics } from '../src/retrieval/quality-metrics.js';
import { assertLive, listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const DEMO_SIZE = 2000;
const manifest = JSON.parse(await readFile(join(MODELS_DIR, 'manifest.json'), 'utf8')) as {
  models: Array<{ name: string; metrics: { demo: { precision_at_1: number; map_at_r: number } } }>;
};
const offline = (name: string) => manifest.models.find((entry) => entry.name === name)?.metrics.demo;

async function indexDemo(app: FastifyInstance, collection: string, model: string, index: 'hnsw' | 'flat') {
  const created = await app.inject({
    method: 'POST',
    url: '/v1/collections',
    payload: { name: collection, model, index: { type: index } },
  });
  assert.equal(created.statusCode, 201, created.body);
  const submitted = await app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { type: 'collections.index', params: { collection, source: { split: 'demo' } }, seed: 1 },
  });
  assert.equal(submitted.statusCode, 202, submitted.body);
  const id = submitted.json().id;
  assert.deepEqual(submitted.json().params.model, { name: model, version: '1' });
  const job = await waitFor(
    'the index job',
    async () => {
      const record = (await app.inject(`/v1/jobs/${id}`)).json();
      return ['completed', 'failed'].includes(record.state) && record;
    },
    120_000,
  );
  assert.equal(job.state, 'completed', job.error);
  assert.equal(job.progress.fraction, 1);
  assert.equal(job.result.points, DEMO_SIZE);
  await waitFor('the points to be applied', async () => {
    const info = (await app.inject(`/v1/collections/${collection}`)).json();
    return info.count === DEMO_SIZE;
  });
  return job;
}

/**
 * The README's flow: create a collection, submit the index job, follow its events to their end, then read
 * the collection at once — the points must be there, not a poll of the applier later.
 */
async function followIndexJob(app: FastifyInstance, collection: string) {
  const base = await listen(app);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/collections',
    payload: { name: collection, model: 'fmnist-embed-mf', index: { type: 'flat' } },
  });
  assert.equal(created.statusCode, 201, created.body);
  const submitted = await app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { type: 'collections.index', params: { collection, source: { split: 'demo' } } },
  });
  assert.equal(submitted.statusCode, 202, submitted.body);
  const events = await (await fetch(`${base}/v1/jobs/${submitted.json().id}/events`)).text();
  const count = (await app.inject(`/v1/collections/${collection}`)).json().count;
  const search = await app.inject({
    method: 'POST',
    url: `/v1/collections/${collection}/search`,
    payload: { id: 'test-0', k: 3 },
  });
  return { final: [...events.matchAll(/^event: (\w+)$/gm)].at(-1)?.[1], count, searched: search.statusCode };
}

/** Every point queries the rest of the collection by its id; P@1 and MAP@R over the results. */
async function apiMetrics(app: FastifyInstance, collection: string) {
  const labels = (await readFashionMnist(MODELS_DIR, 'demo')).labels.subarray(0, DEMO_SIZE);
  return apiRetrievalMetrics(
    labels,
    async (queries) => {
      const response = await app.inject({
        method: 'POST',
        url: `/v1/collections/${collection}/search/batch`,
        payload: { queries },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().results;
    },
    256,
  );
}

function assertReproduces(measured: { precision_at_1: number; map_at_r: number }, model: string) {
  const expected = offline(model);
  assert.ok(expected, `${model} has demo metrics in the manifest`);
  for (const metric of ['precision_at_1', 'map_at_r'] as const) {
    const difference = Math.abs(measured[metric] - expected[metric]);
    assert.ok(
      difference <= 0.005,
      `${model} ${metric}: API ${measured[metric].toFixed(4)} vs offline ${expected[metric]} (Δ ${difference.toFixed(4)})`,
    );
  }
}

describe('collections.index on the inline queue', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  it('indexes the demo subset with the default model and reproduces its offline metrics (HNSW)', async () => {
    await indexDemo(app, 'demo-mf', 'fmnist-embed-mf', 'hnsw');
    const point = (await app.inject('/v1/collections/demo-mf/points/test-0')).json();
    assert.deepEqual(point.payload, { label: 9, class_name: 'Ankle boot', split: 'test', index: 0 });
    assertReproduces(await apiMetrics(app, 'demo-mf'), 'fmnist-embed-mf');
  });

  it("has the points in the collection when the job's event stream ends with completed", async () => {
    assert.deepEqual(await followIndexJob(app, 'followed'), {
      final: 'completed',
      count: DEMO_SIZE,
      searched: 200,
    });
  });

  it('does the same for the baseline model with exact search', async () => {
    await indexDemo(app, 'demo-baseline', 'fmnist-embed-baseline', 'flat');
    assertReproduces(await apiMetrics(app, 'demo-baseline'), 'fmnist-embed-baseline');
  });

  it('refuses index jobs it cannot run', async () => {
    await app.inject({ method: 'POST', url: '/v1/collections', payload: { name: 'plain', dim: 4 } });
    const cases: Array<[object, number]> = [
      [{ collection: 'nowhere', source: { split: 'demo' } }, 404],
      [{ collection: 'plain', source: { split: 'demo' } }, 422],
      [{ collection: 'demo-mf', source: { split: 'validation' } }, 400],
      [{ collection: 'demo-mf', source: { split: 'demo', limit: 0 } }, 400],
      [
        {
          collection: 'demo-mf',
          source: { split: 'demo' },
          model: { name: 'fmnist-embed-baseline', version: '1' },
        },
        422,
      ],
    ];
    for (const [params, status] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'collections.index', params },
      });
      assert.equal(response.statusCode, status, `${JSON.stringify(params)}: ${response.body}`);
    }
    await assertLive(app);
  });
});

describe('collections.index on BullMQ with a worker process', () => {
  const prefix = uniquePrefix();
  const env = { REDIS_URL, REDIS_PREFIX: prefix };
  let app: FastifyInstance;
  let worker: Child | undefined;
  before(async () => {
    app = await startApp(env);
    worker = startEntry('src/jobs/worker-main.ts', env);
    await waitForOutput(worker, /worker ready/);
  });
  after(async () => {
    if (worker) await kill(worker);
    await stopApp(app);
    await deleteKeys(prefix);
  });

  it("has them in the collection when the job's event stream ends, the worker elsewhere", async () => {
    assert.deepEqual(await followIndexJob(app, 'followed-remote'), {
      final: 'completed',
      count: DEMO_SIZE,
      searched: 200,
    });
  });

  it('applies points embedded on the worker to the API process collection', async () => {
    await indexDemo(app, 'remote', 'fmnist-embed-mf', 'hnsw');
    const hits = (
      await app.inject({
        method: 'POST',
        url: '/v1/collections/remote/search',
        payload: { id: 'test-0', k: 5 },
      })
    ).json();
    assert.equal(hits.results.length, 5);
    assert.ok(hits.results.every((hit: { payload: { label: number } }) => hit.payload.label === 9));
  });
});
