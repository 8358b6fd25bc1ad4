// Bounded synchronous work: every model's manifest entry limits the work one inference request may ask for
// (rows × per-row cost; iterated-map: rows × steps), checked before anything runs, and a model of unbounded
// cost runs in an inference pool of its own, so that while the largest allowed iterated-map request runs,
// the other models answer (ordering, not timing).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManifestError, readManifest } from '../src/models/manifest.js';
import { assertLive, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const iterate = (rows: number, steps: number) => ({
  inputs: [
    { name: 'x', shape: [rows, 8], datatype: 'FP32', data: new Array(rows * 8).fill(0.5) },
    { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
  ],
});

describe('work limits and the iterated-map bulkhead', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp({});
  });
  after(() => stopApp(app));

  it('lists each model’s work limit and pool', async () => {
    const models = (await app.inject('/v1/models')).json().data as Array<{
      name: string;
      work: object;
      pool: string;
    }>;
    for (const model of models) assert.ok(model.work !== undefined && model.pool !== undefined, model.name);
    const byName = new Map(models.map((model) => [model.name, model]));
    assert.deepEqual(byName.get('iterated-map')?.work, { max: 100_000_000, rows: 'x', per_row: 'steps' });
    assert.equal(byName.get('iterated-map')?.pool, 'iterated-map');
    assert.equal(byName.get('spiral-mlp')?.pool, 'shared');
  });

  it('refuses a request over the limit with 413 before it runs, pointing to the batch job', async () => {
    for (const [rows, steps] of [
      [101, 1_000_000],
      [100_001, 1_000],
    ] as const) {
      const response = await app.inject({
        method: 'POST',
        url: '/v2/models/iterated-map/infer',
        payload: iterate(rows, steps),
      });
      assert.equal(response.statusCode, 413, response.body);
      const problem = response.json();
      assert.equal(problem.type, 'urn:meanserve:problem:too-large');
      assert.match(problem.detail, /one request may ask for 100000000.*onnx\.batch-infer job/);
      assert.deepEqual(problem.errors[0].path, '/body/inputs/0/shape');
      assert.equal(app.models.queueDepth(), 0, 'nothing was queued');
    }
    const metrics = (await app.inject('/metrics')).body;
    assert.doesNotMatch(metrics, /meanserve_inference_duration_seconds_count\{model="iterated-map"/);
  });

  it('answers spiral-mlp, MeanFlow and embedding requests while the largest allowed iterated-map request runs', async () => {
    let longDone = false;
    const long = app
      .inject({ method: 'POST', url: '/v2/models/iterated-map/infer', payload: iterate(100, 1_000_000) })
      .then((response) => {
        longDone = true;
        return response;
      });
    await waitFor('the long inference to hold its pool', async () => app.models.queueDepth() === 1, 5000, 5);
    const spiral = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] },
    });
    assert.equal(spiral.statusCode, 200);
    const samples = await app.inject({
      method: 'POST',
      url: '/v1/meanflow/samples',
      payload: { n: 2, seed: 1, format: 'raw' },
    });
    assert.equal(samples.statusCode, 200);
    const embedding = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { input: [Array.from({ length: 28 }, () => new Array(28).fill(0.5))] },
    });
    assert.equal(embedding.statusCode, 200);
    assert.equal(longDone, false, 'the other models answered while iterated-map still ran');
    assert.equal((await long).statusCode, 200);
    await assertLive(app);
  });
});

describe('the manifest’s work declarations', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meanserve-manifest-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const withEntry = async (change: (entry: Record<string, unknown>) => void) => {
    const manifest = JSON.parse(await readFile(join(MODELS_DIR, 'manifest.json'), 'utf8'));
    const entry = manifest.models.find((model: { name: string }) => model.name === 'iterated-map');
    change(entry);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return readManifest(dir);
  };

  it('are required, and must name inputs that exist and a per-row input with one bounded element', async () => {
    await assert.rejects(
      withEntry((entry) => {
        delete entry.work;
      }),
      (error: Error) => error instanceof ManifestError && /work/.test(error.message),
    );
    await assert.rejects(
      withEntry((entry) => {
        entry.work = { max: 10, rows: 'nope' };
      }),
      /work.rows names 'nope'/,
    );
    await assert.rejects(
      withEntry((entry) => {
        entry.work = { max: 10, rows: 'x', per_row: 'x' };
      }),
      /work.per_row must name a one-element input with a range/,
    );
    assert.ok((await withEntry(() => undefined)).length > 0);
  });
});
