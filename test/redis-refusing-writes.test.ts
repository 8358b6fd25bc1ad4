// A Redis that refuses writes, against redis-servers this test starts itself. Full — its maxmemory reached
// under noeviction, the policy BullMQ requires (a filler key past a maxmemory set just above what it holds):
// submissions and cancellations answer 507, reads go on; a worker takes no jobs — BullMQ alone asks again at
// once, thousands of refusals a second — and a job that finishes while Redis is full keeps what it made
// until Redis has room, instead of failing; once the filler goes, everything completes on its first
// attempt. Unable to save to its disk (MISCONF, a snapshot that failed): submissions answer 503, a worker
// takes no jobs, and all goes on once a snapshot succeeds.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { queueAnswers, spiralJob, startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { freePort, spawnRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const FILLER = 'filler';

/** A minimax.mfl job of a few seconds (its loop writes artifacts when it ends). */
const slowJob = {
  type: 'minimax.mfl',
  params: { objective: { name: 'mm1d' }, algorithm: { name: 'mfl-da' }, particles: 2000, steps: 6000 },
  seed: 3,
};

/** A redis-server of this test's own, an app on it, and the worker a test may start. */
interface Setup {
  redisServer: ChildProcess;
  redis: Redis;
  app: FastifyInstance;
  env: Record<string, string>;
  worker?: Child;
}

async function setUp(args: string[], env: Record<string, string>): Promise<Setup> {
  const port = await freePort();
  const redisServer = spawnRedis(port, args);
  const redis = new Redis(`redis://127.0.0.1:${port}`);
  redis.on('error', () => {
    // Refused until redis-server listens; ioredis connects again by itself.
  });
  const fullEnv = { REDIS_URL: `redis://127.0.0.1:${port}`, ...env };
  const app = await startApp(fullEnv);
  await queueAnswers(app);
  return { redisServer, redis, app, env: fullEnv };
}

async function tearDown(setup: Setup): Promise<void> {
  if (setup.worker !== undefined) await kill(setup.worker);
  await stopApp(setup.app);
  setup.redis.disconnect();
  setup.redisServer.kill('SIGKILL');
  await once(setup.redisServer, 'exit');
}

/** Starts a worker, and once it is up, counts the commands that reach Redis in 2 s. */
async function commandsOfAWorker(setup: Setup): Promise<number> {
  const processed = async () =>
    Number((await setup.redis.info('stats')).match(/^total_commands_processed:(\d+)/m)?.[1]);
  setup.worker = startEntry('src/jobs/worker-main.ts', setup.env);
  await waitForOutput(setup.worker, /worker ready/);
  const before = await processed();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return (await processed()) - before;
}

describe('a full Redis (maxmemory reached, noeviction)', () => {
  let setup: Setup;
  before(async () => {
    // Rate limits counted in Redis too: while it is full they are counted in the process (a read goes on).
    setup = await setUp(['--maxmemory-policy', 'noeviction'], {
      REDIS_PREFIX: 'full-test',
      RATE_LIMITS: 'read=100000',
    });
  });
  after(() => tearDown(setup));

  /** Sets maxmemory a little above what Redis holds, then writes to a filler key until Redis refuses. */
  const fill = async () => {
    const used = Number((await setup.redis.info('memory')).match(/^used_memory:(\d+)/m)?.[1]);
    await setup.redis.config('SET', 'maxmemory', String(used + 1024 * 1024));
    const chunk = 'x'.repeat(64 * 1024);
    for (;;) {
      try {
        await setup.redis.append(FILLER, chunk);
      } catch (error) {
        if ((error as Error).message.startsWith('OOM ')) return;
        throw error;
      }
    }
  };
  /** The filler goes, and the maxmemory with it. */
  const makeRoom = async () => {
    await setup.redis.del(FILLER);
    await setup.redis.config('SET', 'maxmemory', '0');
  };
  const { job, finished } = jobApi(() => setup.app);
  const submit = async (body: object) => {
    const response = await setup.app.inject({ method: 'POST', url: '/v1/jobs', payload: body });
    assert.equal(response.statusCode, 202, response.body);
    return response.json().id as string;
  };

  it('refuses submissions and cancellations with 507, serves reads', async () => {
    const queued = await submit(spiralJob([0.1, 0.2]));
    await fill();
    try {
      const refused = await setup.app.inject({ method: 'POST', url: '/v1/jobs', payload: spiralJob() });
      assert.equal(refused.statusCode, 507, refused.body);
      assert.match(refused.headers['content-type'] as string, /^application\/problem\+json/);
      assert.equal(refused.json().type, 'urn:meanserve:problem:storage-full');
      assert.match(refused.json().detail, /Redis is full \(its maxmemory\): this change was not stored/);
      const cancel = await setup.app.inject({ method: 'DELETE', url: `/v1/jobs/${queued}` });
      assert.equal(cancel.statusCode, 507, cancel.body);
      assert.equal((await job(queued)).state, 'queued');
      const read = await setup.app.inject('/v1/jobs?limit=10');
      assert.equal(read.statusCode, 200);
      assert.equal(read.headers['x-ratelimit-limit'], '100000');
      assert.equal((await setup.app.inject('/health/live')).statusCode, 200);
    } finally {
      await makeRoom();
    }
    await setup.app.inject({ method: 'DELETE', url: `/v1/jobs/${queued}` });
  });

  it('takes no jobs while Redis is full, without asking again and again, and takes them once it has room', async () => {
    const waiting = await submit(spiralJob([0.3, 0.4]));
    await fill();
    try {
      // A paused worker asks Redis for room a few times a second at most; BullMQ alone asks for the next job
      // again at once, several thousand times a second.
      const asked = await commandsOfAWorker(setup);
      assert.ok(asked < 200, `${asked} commands reached Redis in 2 s`);
      assert.equal(
        setup.worker?.output().match(/taking no jobs until it takes writes again/g)?.length,
        1,
        'one log line',
      );
      assert.equal((await job(waiting)).state, 'queued');
    } finally {
      await makeRoom();
    }
    const done = await finished(waiting);
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.attempts, 1);
    assert.match(setup.worker?.output() ?? '', /Redis takes writes again: taking jobs/);
  });

  it('keeps what a job made while Redis is full, and stores it once there is room', async () => {
    assert.ok(setup.worker !== undefined);
    const id = await submit(slowJob);
    await waitFor('the job to start', async () => (await job(id)).state === 'running');
    await fill();
    try {
      await waitForOutput(
        setup.worker,
        new RegExp(`job ${id}'s (artifacts|result) waits until it takes writes again`),
        60_000,
      );
      const held = await job(id);
      assert.equal(held.state, 'running', 'not failed for want of room');
      assert.equal(held.attempts, 1);
    } finally {
      await makeRoom();
    }
    const done = await finished(id);
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.attempts, 1);
    assert.ok(done.artifacts.length > 0);
    for (const name of done.artifacts) {
      const artifact = await setup.app.inject(`/v1/jobs/${id}/artifacts/${name}`);
      assert.equal(artifact.statusCode, 200, name);
    }
  });
});

describe('a Redis that cannot save to its disk (MISCONF)', () => {
  let dir: string;
  let setup: Setup;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meanserve-redis-'));
    // With a save point, a snapshot that fails makes Redis refuse writes (stop-writes-on-bgsave-error, on by
    // default) until one succeeds; the test moves the snapshots' directory (a protected setting).
    setup = await setUp(['--dir', dir, '--save', '3600 1', '--enable-protected-configs', 'yes'], {
      REDIS_PREFIX: 'misconf-test',
    });
  });
  after(async () => {
    await tearDown(setup);
    await rm(dir, { recursive: true, force: true });
  });

  const writesRefused = () =>
    setup.redis.set('probe', '1').then(
      () => false,
      (error: Error) => error.message.startsWith('MISCONF '),
    );
  const { job, finished } = jobApi(() => setup.app);

  it('refuses submissions with 503, takes no jobs, and goes on once a snapshot succeeds', async () => {
    const queued = await setup.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: spiralJob([0.5, 0.6]),
    });
    assert.equal(queued.statusCode, 202);
    // The snapshot's directory goes away under Redis: the next snapshot fails.
    await rm(dir, { recursive: true, force: true });
    await setup.redis.bgsave();
    await waitFor('Redis to refuse writes', writesRefused);

    const refused = await setup.app.inject({ method: 'POST', url: '/v1/jobs', payload: spiralJob() });
    assert.equal(refused.statusCode, 503, refused.body);
    assert.match(
      refused.json().detail,
      /Redis cannot save to its disk \(MISCONF\): this change was not stored/,
    );

    const asked = await commandsOfAWorker(setup);
    assert.ok(asked < 200, `${asked} commands reached Redis in 2 s`);
    assert.match(
      setup.worker?.output() ?? '',
      /Redis cannot save to its disk \(MISCONF\): taking no jobs until it takes writes again/,
    );
    assert.equal((await job(queued.json().id)).state, 'queued');

    // Somewhere to save again.
    dir = await mkdtemp(join(tmpdir(), 'meanserve-redis-'));
    await setup.redis.config('SET', 'dir', dir);
    await setup.redis.bgsave();
    await waitFor('Redis to take writes', async () => !(await writesRefused()));
    const done = await finished(queued.json().id);
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.attempts, 1);
  });
});
