// Ops endpoints: liveness, readiness with reasons, Prometheus metrics, the OpenAPI document and /docs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { startApp, stopApp, testConfig } from './helpers/app.js';

describe('ops endpoints', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  it('answers liveness and readiness', async () => {
    assert.deepEqual((await app.inject('/health/live')).json(), { status: 'live' });
    const ready = await app.inject('/health/ready');
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', reasons: [], queue: 'inline' });
  });

  it('names every request in its answer: the client’s x-request-id, or a UUID of its own', async () => {
    const ids = await Promise.all(
      ['/health/live', '/v1/models', '/v1/job-types'].map(async (url) => {
        const response = await app.inject(url);
        return response.headers['x-request-id'] as string;
      }),
    );
    for (const id of ids)
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    const echoed = await app.inject({ url: '/v1/models/nope', headers: { 'x-request-id': 'gateway-7' } });
    assert.equal(echoed.statusCode, 404);
    assert.equal(echoed.headers['x-request-id'], 'gateway-7');
    // Not an id: replaced, so it does not ride along on every log line of its request.
    for (const sent of ['x'.repeat(129), 'two words', '']) {
      const replaced = await app.inject({ url: '/health/live', headers: { 'x-request-id': sent } });
      assert.match(replaced.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    }
  });

  it('is not ready while draining, but still live', async () => {
    app.draining = true;
    try {
      const ready = await app.inject('/health/ready');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json().reasons, ['shutting down']);
      assert.equal((await app.inject('/v2/health/ready')).statusCode, 503);
      assert.equal((await app.inject('/health/live')).statusCode, 200);
    } finally {
      app.draining = false;
    }
  });

  it('exposes Prometheus metrics for requests, inference, queue and event loop', async () => {
    await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0, 1] }] },
    });
    await app.inject('/nope');
    const response = await app.inject('/metrics');
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^text\/plain/);
    const text = response.body;
    assert.match(
      text,
      /meanserve_http_requests_total\{method="POST",route="\/v2\/models\/:name\/infer",status="200"\} 1/,
    );
    assert.match(text, /meanserve_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.match(text, /meanserve_http_request_duration_seconds_bucket\{le="0.005",method="POST"/);
    assert.match(
      text,
      /meanserve_inference_duration_seconds_count\{model="spiral-mlp",version="1",outcome="success"\} 1/,
    );
    assert.match(text, /meanserve_inference_batch_size_sum\{model="spiral-mlp",version="1"\} 1/);
    assert.match(text, /meanserve_inference_queue_depth 0/);
    assert.match(text, /meanserve_jobs\{type="onnx.batch-infer",state="queued"\} 0/);
    assert.match(text, /meanserve_job_queue_depth\{type="onnx.batch-infer"\} 0/);
    assert.match(text, /meanserve_job_queue_up 1/);
    assert.match(text, /meanserve_nodejs_eventloop_lag_seconds /);
  });

  it('serves a valid OpenAPI 3.1 document with a summary, schemas and an example for every route', async () => {
    const response = await app.inject('/openapi.json');
    assert.equal(response.statusCode, 200);
    const document = response.json();
    assert.equal(document.openapi, '3.1.0');
    await SwaggerParser.validate(structuredClone(document));
    const operations = Object.entries(
      document.paths as Record<string, Record<string, Record<string, unknown>>>,
    ).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    assert.ok(operations.length >= 20, `${operations.length} operations`);
    const examples = (value: unknown): boolean =>
      JSON.stringify(value ?? null).includes('"examples"') ||
      JSON.stringify(value ?? null).includes('"example"');
    for (const { path, method, operation } of operations) {
      const name = `${method.toUpperCase()} ${path}`;
      assert.ok(
        typeof operation.summary === 'string' && operation.summary.length > 0,
        `${name} has a summary`,
      );
      const responses = operation.responses as Record<
        string,
        { content?: Record<string, { schema?: unknown }> }
      >;
      // 204 No Content has nothing to describe.
      if (responses['204'] !== undefined && operation.requestBody === undefined) continue;
      const ok = responses['200'] ?? responses['201'] ?? responses['202'];
      assert.ok(
        ok?.content && Object.values(ok.content).every((media) => media.schema),
        `${name} has a response schema`,
      );
      assert.ok(examples(operation.requestBody) || examples(ok), `${name} has an example`);
    }
  });

  it('serves the Swagger UI at /docs', async () => {
    const response = await app.inject('/docs/');
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /swagger-ui/i);
  });
});

describe('readiness before and without models', () => {
  it('answers 503 with reasons until the models are loaded', async (t) => {
    const app = await buildApp(await testConfig(), { loadModels: false });
    t.after(() => stopApp(app));
    const before = await app.inject('/health/ready');
    assert.equal(before.statusCode, 503);
    assert.deepEqual(before.json().reasons, ['models: not started']);
    await app.models.start();
    assert.equal((await app.inject('/health/ready')).statusCode, 200);
  });

  it('answers 503 naming the manifest when it cannot be read', async (t) => {
    const app = await buildApp(await testConfig({ MODELS_DIR: '/nonexistent-models' }));
    t.after(() => stopApp(app));
    await app.models.loaded();
    const ready = await app.inject('/health/ready');
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().reasons[0], /^manifest: cannot read \/nonexistent-models\/manifest.json/);
    assert.equal((await app.inject('/health/live')).statusCode, 200);
  });
});
