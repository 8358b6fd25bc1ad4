// With REDIS_URL pointing at nothing, job routes fail fast with 503 (never hang), readiness says why, and
// everything that does not need Redis keeps working.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, spiralJob, startApp, stopApp } from './helpers/app.js';

describe('Redis unreachable', () => {
  let app: FastifyInstance;
  before(async () => {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    app = await startApp({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: 'meanserve-test-down' });
  });
  after(() => stopApp(app));

  it('answers 503 with Retry-After to a job submission', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: spiralJob([0, 0]),
    });
    assert.equal(response.statusCode, 503);
    assert.ok(response.headers['retry-after']);
    assert.match(response.json().detail, /Redis is unreachable/);
    await assertLive(app);
  });

  it('answers 503 to job reads and listings', async () => {
    assert.equal((await app.inject('/v1/jobs/onnx.batch-infer_x')).statusCode, 503);
    assert.equal((await app.inject('/v1/jobs')).statusCode, 503);
  });

  it('still validates before touching Redis', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'onnx.batch-infer', params: {} },
    });
    assert.equal(response.statusCode, 400);
  });

  it('reports not ready, naming the queue, while inference keeps working', async () => {
    const ready = await app.inject('/health/ready');
    assert.equal(ready.statusCode, 503);
    assert.ok(ready.json().reasons.some((r: string) => r.startsWith('queue (bullmq): Redis is unreachable')));
    const metrics = (await app.inject('/metrics')).body;
    assert.match(metrics, /meanserve_job_queue_up 0/);
    const infer = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0, 0] }] },
    });
    assert.equal(infer.statusCode, 200);
  });
});
