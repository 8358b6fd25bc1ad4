// The model registry through the API: what /v1/models reports, the sha256 check, execution-provider
// fallback, and inference that leaves the event loop free.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { UnavailableError } from '../src/errors.js';
import { ModelRegistry } from '../src/models/registry.js';
import { listen, MODELS_DIR, startApp, stopApp, testConfig } from './helpers/app.js';

describe('GET /v1/models', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  it('lists every model with sha256, provider, signature and measured quality', async () => {
    const response = await app.inject('/v1/models');
    assert.equal(response.statusCode, 200);
    const { data } = response.json();
    const names = data.map((m: { name: string }) => m.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    assert.ok(names.includes('iterated-map') && names.includes('spiral-mlp'));
    const spiral = data.find((m: { name: string }) => m.name === 'spiral-mlp');
    assert.equal(spiral.state, 'ready');
    assert.equal(spiral.execution_provider, 'cpu');
    assert.match(spiral.sha256, /^[0-9a-f]{64}$/);
    assert.ok(spiral.metrics.heldout_accuracy > 0.9);
    assert.equal(spiral.max_batch_size, 64);
  });

  it('describes one model, and 404s an unknown name or version', async () => {
    const one = await app.inject('/v1/models/iterated-map');
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().inputs[1].datatype, 'INT64');
    assert.equal((await app.inject('/v1/models/iterated-map?version=1')).statusCode, 200);
    assert.equal((await app.inject('/v1/models/nope')).statusCode, 404);
    const version = await app.inject('/v1/models/iterated-map?version=7');
    assert.equal(version.statusCode, 404);
    assert.match(version.json().detail, /no version '7'/);
  });
});

describe('model registry', () => {
  it('is not ready while it reads the manifest, then lists every model as loading', async (t) => {
    const config = await testConfig();
    t.after(() => rm(config.dataDir, { recursive: true, force: true }));
    const registry = new ModelRegistry(config, pino({ level: 'silent' }));
    t.after(() => registry.close());
    const loading = registry.start();
    // Before the manifest is read no model is registered: readiness said nothing, so /health/ready was 200.
    assert.deepEqual(registry.readiness(), ['models: reading the manifest']);
    // A model asked for meanwhile is not yet known, not unknown: 503, not 404.
    assert.throws(() => registry.get('spiral-mlp'), UnavailableError);
    let reasons = registry.readiness();
    while (reasons[0] === 'models: reading the manifest') {
      await new Promise((resolve) => setImmediate(resolve));
      reasons = registry.readiness();
    }
    const manifest = JSON.parse(await readFile(join(MODELS_DIR, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      reasons,
      manifest.models.map(
        (entry: { name: string; version: string }) => `model ${entry.name}@${entry.version}: loading`,
      ),
    );
    await loading;
    assert.deepEqual(registry.readiness(), []);
  });

  it('refuses a model file whose sha256 differs from the manifest, and says so in readiness', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'meanserve-models-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await cp(MODELS_DIR, dir, { recursive: true });
    await writeFile(join(dir, 'spiral-mlp/model.onnx'), Buffer.from('not the model'));
    const app = await startApp({ MODELS_DIR: dir });
    t.after(() => stopApp(app));
    const ready = await app.inject('/health/ready');
    assert.equal(ready.statusCode, 503);
    const reasons: string[] = ready.json().reasons;
    assert.ok(
      reasons.some((r) => /spiral-mlp@1: failed: .*sha256/.test(r)),
      JSON.stringify(reasons),
    );
    const model = (await app.inject('/v1/models/spiral-mlp')).json();
    assert.equal(model.state, 'failed');
    const infer = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0, 0] }] },
    });
    assert.equal(infer.statusCode, 503);
    assert.ok(infer.headers['retry-after']);
    // The other model is unaffected.
    assert.equal((await app.inject('/v2/models/iterated-map/ready')).statusCode, 200);
  });

  it('falls back from CUDA to CPU and reports the active provider and why', async (t) => {
    const app = await startApp({ ORT_EXECUTION_PROVIDERS: 'cuda,cpu' });
    t.after(() => stopApp(app));
    const model = (await app.inject('/v1/models/spiral-mlp')).json();
    assert.equal(model.state, 'ready');
    // This machine has no CUDA build of onnxruntime: the first provider must have failed and said why.
    assert.equal(model.execution_provider, 'cpu');
    assert.equal(model.provider_fallbacks.length, 1);
    assert.match(model.provider_fallbacks[0], /^cuda: /);
  });

  it('answers 503 with Retry-After when the inference queue is full, and stays up', async (t) => {
    const app = await startApp({ INFERENCE_QUEUE_LIMIT: '1' });
    t.after(() => stopApp(app));
    const request = () =>
      app.inject({
        method: 'POST',
        url: '/v2/models/iterated-map/infer',
        payload: {
          inputs: [
            { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.5) },
            { name: 'steps', shape: [1], datatype: 'INT64', data: [500_000] },
          ],
        },
      });
    const responses = await Promise.all([request(), request(), request()]);
    const statuses = responses.map((response) => response.statusCode).sort();
    assert.deepEqual(statuses, [200, 503, 503]);
    const refused = responses.find((response) => response.statusCode === 503);
    assert.equal(refused?.headers['retry-after'], '1');
    assert.equal(refused?.json().type, 'urn:meanserve:problem:overloaded');
    assert.equal((await request()).statusCode, 200, 'served again once the queue drained');
  });

  it('answers /health/live while a long inference is in flight', async (t) => {
    const app = await startApp();
    t.after(() => stopApp(app));
    const base = await listen(app);
    const order: string[] = [];
    // 64 rows × 10⁶ steps of the Loop take about two seconds: long enough to be in flight.
    const long = fetch(`${base}/v2/models/iterated-map/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'x', shape: [64, 8], datatype: 'FP32', data: new Array(64 * 8).fill(0.5) },
          { name: 'steps', shape: [1], datatype: 'INT64', data: [1_000_000] },
        ],
      }),
    }).then(async (response) => {
      order.push(`infer ${response.status}`);
    });
    // Wait until the inference is really running in its thread (the pool reports it as pending).
    while (app.models.queueDepth() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const live = await fetch(`${base}/health/live`);
    order.push(`live ${live.status}`);
    await long;
    assert.deepEqual(order, ['live 200', 'infer 200']);
  });
});
