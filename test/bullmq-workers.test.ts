// With REDIS_URL set, the API only enqueues: a separate `npm run worker` process runs the job. Killing that
// worker with SIGKILL mid-job and starting another completes the job (stalled-job recovery). A worker with
// WORKER_METRICS_PORT serves its own metrics: the tokens its antidistill.traces jobs decode.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { spiralJob, startApp, stopApp } from './helpers/app.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { promtoolCheck, sample } from './helpers/prometheus.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const slowRequest = {
  inputs: [
    { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.2) },
    { name: 'steps', shape: [1], datatype: 'INT64', data: [300_000] },
  ],
};

describe('BullMQ backend with separate worker processes', () => {
  const prefix = uniquePrefix();
  // Short locks so a dead worker's job is recovered in seconds, not the production 30 s.
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    JOB_LOCK_DURATION_MS: '1500',
    JOB_STALLED_INTERVAL_MS: '500',
  };
  let app: FastifyInstance;
  const workers: Child[] = [];
  before(async () => {
    app = await startApp(env);
    await waitFor('the queue to answer', async () => (await app.inject('/health/ready')).statusCode === 200);
  });
  after(async () => {
    for (const worker of workers) await kill(worker);
    await stopApp(app);
    await deleteKeys(prefix);
  });

  const startWorker = async (extra: Record<string, string> = {}) => {
    const worker = startEntry('src/jobs/worker-main.ts', { ...env, ...extra });
    workers.push(worker);
    await waitForOutput(worker, /worker ready/);
    return worker;
  };
  const job = async (id: string) => (await app.inject(`/v1/jobs/${id}`)).json();

  it('reports the bullmq backend as ready', async () => {
    const ready = (await app.inject('/health/ready')).json();
    assert.equal(ready.queue, 'bullmq');
  });

  it('has a job submitted to the API completed by a worker process', async () => {
    const worker = await startWorker();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: spiralJob(),
    });
    assert.equal(response.statusCode, 202);
    const { id } = response.json();
    const done = await waitFor('completion', async () => {
      const record = await job(id);
      return record.state === 'completed' ? record : undefined;
    });
    assert.equal(done.result.count, 1);
    const artifact = await app.inject(`/v1/jobs/${id}/artifacts/responses.json`);
    assert.equal(artifact.statusCode, 200);
    // The worker, not the API, ran it.
    await waitForOutput(worker, new RegExp(`"jobId":"${id.replaceAll('.', '\\.')}".*"msg":"job completed"`));
    await kill(worker, 'SIGTERM');
    assert.equal(await worker.exited, 0, 'a worker exits 0 on SIGTERM');
  });

  it('recovers a job whose worker was killed mid-job: another worker completes it', async () => {
    const first = await startWorker();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: {
        type: 'onnx.batch-infer',
        params: { model: 'iterated-map', requests: Array.from({ length: 16 }, () => slowRequest) },
      },
    });
    const { id } = response.json();
    await waitFor('the job to be running with progress', async () => {
      const record = await job(id);
      return record.state === 'running' && record.progress.fraction > 0;
    });
    await kill(first, 'SIGKILL');
    assert.equal((await job(id)).state, 'running', 'the job is still locked by the dead worker');
    // The dead worker's 1.5 s lock lets the job be found stalled at once; the second holds its own for 30 s,
    // as a loaded machine can renew a short lock late, see the job stall again and fail it ("stalled more
    // than allowable limit").
    const second = await startWorker({ JOB_LOCK_DURATION_MS: '30000' });
    try {
      const done = await waitFor(
        'the second worker to complete the job',
        async () => {
          const record = await job(id);
          return ['completed', 'failed'].includes(record.state) ? record : undefined;
        },
        60_000,
      );
      assert.equal(done.state, 'completed', done.error);
      assert.equal(done.result.count, 16);
      assert.ok(done.attempts >= 2, `started ${done.attempts} times`);
      await waitForOutput(second, /stalled job moved back to the queue|"msg":"job completed"/);
    } finally {
      // Whatever happened, no worker of this case is left to take the next case's job.
      await kill(second, 'SIGTERM');
    }
  });

  it("serves a worker's own metrics, counting the tokens its antidistill.traces jobs decode", async () => {
    // Locks of the suite's default length: at 1.5 s a loaded machine can see the job stall and run it twice,
    // which would count its tokens twice.
    const worker = await startWorker({
      WORKER_METRICS_PORT: '0',
      HOST: '127.0.0.1',
      JOB_LOCK_DURATION_MS: '30000',
      JOB_STALLED_INTERVAL_MS: '30000',
    });
    const port = Number((await waitForOutput(worker, /"metricsPort":(\d+)/))[1]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: {
        type: 'antidistill.traces',
        params: { prompts: ['Q:12+3='], n: 3, temperature: 1 },
        seed: 4,
      },
    });
    assert.equal(response.statusCode, 202, response.body);
    const done = await waitFor('the worker to complete the job', async () => {
      const record = await job(response.json().id);
      return ['completed', 'failed'].includes(record.state) ? record : undefined;
    });
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.attempts, 1);
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(scrape.status, 200);
    const text = await scrape.text();
    const check = promtoolCheck(text);
    assert.equal(check.status, 0, check.output);
    const labels = { model: 'arithmetic-teacher', mode: 'plain' };
    assert.equal(sample(text, 'meanserve_generation_tokens_total', labels), done.result.completion_tokens);
    // <bos> and the seven characters of the prompt, counted once for its three traces.
    assert.equal(sample(text, 'meanserve_prompt_tokens_total', labels), 8);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    await kill(worker, 'SIGTERM');
    assert.equal(await worker.exited, 0);
  });
});
