// A Redis restart loses no job: against a redis-server this test starts itself with AOF (appendfsync always)
// on a free port, jobs finished by a worker and jobs still queued survive a SIGKILL of Redis and its restart
// on the same files; the API reconnects by itself and a new worker completes the queued ones.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { freePort, spawnRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

function startRedis(port: number, dir: string): ChildProcess {
  return spawnRedis(port, ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always']);
}

const quickJob = (value: number) => ({
  type: 'onnx.batch-infer',
  params: {
    model: 'spiral-mlp',
    requests: [{ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [value, -0.7] }] }],
  },
});

describe('Redis restart with AOF', () => {
  let redis: ChildProcess;
  let dir: string;
  let app: FastifyInstance;
  let env: Record<string, string>;
  const workers: Child[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meanserve-redis-'));
    const port = await freePort();
    redis = startRedis(port, dir);
    env = { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: 'restart-test' };
    app = await startApp(env);
    await waitFor('the queue to answer', async () => (await app.inject('/health/ready')).statusCode === 200);
  });
  after(async () => {
    for (const worker of workers) await kill(worker);
    await stopApp(app);
    if (redis.exitCode === null && redis.signalCode === null) {
      redis.kill('SIGKILL');
      await once(redis, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  const startWorker = async () => {
    const worker = startEntry('src/jobs/worker-main.ts', env);
    workers.push(worker);
    await waitForOutput(worker, /worker ready/);
    return worker;
  };
  const job = async (id: string) => (await app.inject(`/v1/jobs/${id}`)).json();
  const submit = async (value: number) => {
    const response = await app.inject({ method: 'POST', url: '/v1/jobs', payload: quickJob(value) });
    assert.equal(response.statusCode, 202, response.body);
    return response.json().id as string;
  };

  it('keeps finished and queued jobs through a SIGKILL of Redis and a restart', async () => {
    const worker = await startWorker();
    const finished = [await submit(0.1), await submit(0.2), await submit(0.3)];
    const results = new Map<string, unknown>();
    for (const id of finished) {
      const done = await waitFor(`job ${id}`, async () => {
        const record = await job(id);
        return record.state === 'completed' ? record : undefined;
      });
      results.set(id, done.result);
    }
    await kill(worker, 'SIGTERM');
    // No worker now: these wait in the queue.
    const queued = [await submit(0.4), await submit(0.5), await submit(0.6), await submit(0.7)];
    for (const id of queued) assert.equal((await job(id)).state, 'queued');

    redis.kill('SIGKILL');
    await once(redis, 'exit');
    await waitFor('the API to notice', async () => (await app.inject('/health/ready')).statusCode === 503);
    redis = startRedis(Number(new URL(env.REDIS_URL as string).port), dir);
    await waitFor(
      'the API to reconnect',
      async () => (await app.inject('/health/ready')).statusCode === 200,
      30_000,
    );

    for (const id of finished) {
      const record = await job(id);
      assert.equal(record.state, 'completed', id);
      assert.deepEqual(record.result, results.get(id));
      assert.equal((await app.inject(`/v1/jobs/${id}/artifacts/responses.json`)).statusCode, 200);
    }
    for (const id of queued) assert.equal((await job(id)).state, 'queued', id);
    const listed = (await app.inject('/v1/jobs?type=onnx.batch-infer&limit=50')).json().data;
    assert.equal(listed.length, finished.length + queued.length);

    await startWorker();
    for (const id of queued) {
      await waitFor(`queued job ${id} after the restart`, async () => (await job(id)).state === 'completed');
    }
  });
});
