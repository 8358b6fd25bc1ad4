// The default (inline) job queue survives the worst stop a server can have: SIGKILL with jobs queued, running
// and completed. After the restart every job reaches a final state — the running one is run again (at least
// once), the queued ones run — completed results and artifacts read back unchanged, and an Idempotency-Key
// retried after the restart returns the same job. Also: a second process on the same DATA_DIR is refused.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { InlineQueue } from '../src/jobs/backends/inline/inline-queue.js';
import {
  JobStore,
  JobStoreError,
  MIGRATIONS,
  type StoredJob,
} from '../src/jobs/backends/inline/job-store.js';
import { startApp, stopApp } from './helpers/app.js';
import { TEST_JOB_CONFIG } from './helpers/backends.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const spiral = (count: number) => ({
  type: 'onnx.batch-infer',
  params: {
    model: 'spiral-mlp',
    requests: Array.from({ length: count }, (_, i) => ({
      id: `r${i}`,
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.1 * i, -0.2] }],
    })),
  },
  seed: 3,
});

/** Eight iterated-map requests of 300 000 steps: a job still running when the server is killed. */
const slow = {
  type: 'onnx.batch-infer',
  params: {
    model: 'iterated-map',
    requests: Array.from({ length: 8 }, () => ({
      inputs: [
        { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.1) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [300_000] },
      ],
    })),
  },
};

describe('the inline queue across a SIGKILL', () => {
  let dataDir: string;
  let server: Child | undefined;
  let base: string;

  const start = async () => {
    server = startEntry('src/server/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      JOB_CONCURRENCY: '1',
    });
    const [, address] = await waitForOutput(server, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    base = address as string;
  };
  const submit = async (body: object, key?: string) => {
    const response = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 202);
    return { job: await response.json(), replayed: response.headers.get('idempotent-replayed') === 'true' };
  };
  const job = async (id: string) => (await fetch(`${base}/v1/jobs/${id}`)).json();
  const final = (id: string) =>
    waitFor(
      `job ${id} to finish`,
      async () => {
        const record = await job(id);
        return ['completed', 'failed', 'cancelled'].includes(record.state) ? record : undefined;
      },
      60_000,
    );

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-durable-'));
    for (const name of ['REDIS_URL', 'MODELS_DIR']) delete process.env[name];
  });
  after(async () => {
    if (server !== undefined) await kill(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('brings every job to a final state, keeps results and artifacts, and honours idempotency keys', async () => {
    await start();
    const finished = await submit(spiral(3), 'before-the-kill');
    const completed = await final(finished.job.id);
    assert.equal(completed.state, 'completed');
    const artifactBefore = await (await fetch(`${base}${completed.links.artifacts[0]}`)).text();
    const running = await submit(slow);
    await waitFor(
      'the slow job to run',
      async () => (await job(running.job.id)).progress.fraction > 0,
      30_000,
    );
    const queued = [await submit(spiral(1)), await submit(spiral(2))];
    for (const { job: record } of queued) assert.equal((await job(record.id)).state, 'queued');

    await kill(server as Child, 'SIGKILL');
    await start();

    const kept = await job(completed.id);
    assert.equal(kept.state, 'completed');
    assert.deepEqual(kept.result, completed.result);
    const artifactAfter = await fetch(`${base}${completed.links.artifacts[0]}`);
    assert.equal(artifactAfter.status, 200);
    assert.equal(await artifactAfter.text(), artifactBefore);
    const retried = await submit(spiral(3), 'before-the-kill');
    assert.equal(retried.job.id, completed.id);
    assert.equal(retried.replayed, true);

    const rerun = await final(running.job.id);
    assert.equal(rerun.state, 'completed', rerun.error);
    assert.equal(rerun.attempts, 2, 'run again after the kill');
    assert.equal(rerun.result.count, 8);
    for (const { job: record } of queued) assert.equal((await final(record.id)).state, 'completed');
    const listed = (await (await fetch(`${base}/v1/jobs?limit=10`)).json()).data;
    assert.equal(listed.length, 4);
    assert.match((server as Child).output(), /jobs the last process was running/);
  });
});

/** Queues that run no model: their jobs are only stored. */
const NO_MODELS = {
  modelsDir: '/nonexistent',
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  fashionMnistDir: '/nonexistent',
  modelRepositoryDir: '/nonexistent',
};

describe('one DATA_DIR, one inline queue', () => {
  it('refuses a second queue on a DATA_DIR another one holds, and takes it once that one closed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-durable-'));
    const open = () =>
      InlineQueue.open(TEST_JOB_CONFIG, dataDir, NO_MODELS, ['onnx.batch-infer'], pino({ level: 'silent' }));
    const first = await open();
    try {
      await assert.rejects(
        open,
        (error: Error) => error instanceof JobStoreError && /in use by another process/.test(error.message),
      );
    } finally {
      await first.close(100);
    }
    const second = await open();
    await second.close(100);
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('DATA_DIR/jobs removed under a running inline queue', () => {
  it('writes the store back within a second, and the next queue finds every job stored before and after', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-removed-'));
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    // No job type runs here: the jobs stay queued, as they were stored.
    const open = () => InlineQueue.open(TEST_JOB_CONFIG, dataDir, NO_MODELS, [], log);
    const submit = (queue: InlineQueue, n: number) =>
      queue.submit({ type: 'onnx.batch-infer', params: { n }, seed: n, fingerprint: `f${n}` });
    try {
      let queue = await open();
      const before = await submit(queue, 1);
      await rm(join(dataDir, 'jobs'), { recursive: true });
      const after = await submit(queue, 2);
      await waitFor('the store written back', async () =>
        errors.some((line) => line.includes('removed or replaced under the running server')),
      );
      await queue.close(100);
      queue = await open();
      const ids = (await queue.list({ limit: 10 })).map((record) => record.id).sort();
      assert.deepEqual(ids, [before.job.id, after.job.id].sort());
      await queue.close(100);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the job store after a stop', () => {
  const job = (id: string): StoredJob => ({
    record: {
      id,
      type: 'onnx.batch-infer',
      state: 'queued',
      seed: 1,
      params: { n: 1 },
      progress: { fraction: 0 },
      attempts: 0,
      createdAt: new Date().toISOString(),
      artifacts: [],
    },
    fingerprint: 'f',
    cancelRequested: false,
    recoveries: 0,
    runAfter: 0,
  });

  it('runs an interrupted job again once, cancels one whose cancel had arrived, and fails one stopped twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meanserve-store-'));
    const path = join(dir, 'queue.sqlite');
    try {
      let store = new JobStore(path);
      for (const id of ['again', 'cancelled', 'twice']) {
        store.insert(job(id), undefined);
        store.start(id, new Date().toISOString());
      }
      store.requestCancel('cancelled');
      store.close();
      store = new JobStore(path);
      assert.deepEqual(store.recoverInterrupted(new Date().toISOString()), {
        requeued: ['again', 'twice'],
        cancelled: ['cancelled'],
        failed: [],
      });
      store.start('twice', new Date().toISOString());
      store.close();
      store = new JobStore(path);
      assert.deepEqual(store.recoverInterrupted(new Date().toISOString()).failed, ['twice']);
      assert.equal(store.get('cancelled')?.record.state, 'cancelled');
      assert.match(store.get('twice')?.record.error ?? '', /stopped twice/);
      assert.equal(store.get('again')?.record.state, 'queued');
      store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('moves the params of a store from before job_params into it, and shows large ones by size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meanserve-store-'));
    const path = join(dir, 'queue.sqlite');
    try {
      const old = new Database(path);
      old.exec(MIGRATIONS[0] as string);
      old.pragma('user_version = 1');
      const large = { requests: 'x'.repeat(70_000) };
      const insert = old.prepare(
        `INSERT INTO jobs (id, type, state, seed, params, progress, attempts, created_at, fingerprint)
         VALUES (?, 'onnx.batch-infer', 'completed', 1, ?, '{"fraction":1}', 1, ?, 'f')`,
      );
      insert.run('small', JSON.stringify({ n: 1 }), '2026-12-01T00:00:00.000Z');
      insert.run('large', JSON.stringify(large), '2026-12-01T00:00:01.000Z');
      old.close();
      const store = new JobStore(path);
      assert.deepEqual(store.get('small')?.record.params, { n: 1 });
      assert.equal(store.get('large')?.record.params, undefined);
      assert.deepEqual(JSON.parse(store.paramsJson('large') ?? 'null'), large);
      const listed = store.list({ limit: 10 });
      assert.deepEqual(
        listed.map((record) => [record.id, record.params, record.paramsBytes]),
        [
          ['large', undefined, JSON.stringify(large).length],
          ['small', { n: 1 }, undefined],
        ],
      );
      store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Removed, its WAL alone removed, or another file put in its place, under the open store: SQLite went on
  // with the files it held, and at the next start every job was gone, those stored after the removal too.
  for (const [what, damage] of [
    ['its directory removed', (path: string) => rm(dirname(path), { recursive: true })],
    ['its WAL removed', (path: string) => rm(`${path}-wal`)],
    [
      'another database put in its place',
      async (path: string) => {
        const foreign = new Database(`${path}.foreign`);
        foreign.exec('CREATE TABLE other (x)');
        foreign.close();
        await rename(`${path}.foreign`, path);
      },
    ],
  ] as const) {
    it(`writes the database back to its path after ${what}, every job kept`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'meanserve-store-'));
      const path = join(dir, 'jobs', 'queue.sqlite');
      await mkdir(dirname(path));
      try {
        let store = new JobStore(path);
        store.insert(job('before'), 'key-before');
        assert.equal(
          store.restoreIfRemoved(),
          undefined,
          'nothing to do while the files are the ones opened',
        );
        await damage(path);
        store.insert(job('after'), undefined);
        store.start('before', new Date().toISOString());
        const said = store.restoreIfRemoved();
        assert.match(said ?? '', /was written back from the open database/);
        store.insert(job('restored'), undefined);
        assert.equal(store.restoreIfRemoved(), undefined);
        store.close();

        store = new JobStore(path);
        assert.deepEqual(
          store
            .list({ limit: 10 })
            .map((record) => [record.id, record.state])
            .sort(),
          [
            ['after', 'queued'],
            ['before', 'running'],
            ['restored', 'queued'],
          ],
        );
        assert.equal(
          store.insert(job('again'), 'key-before').job.record.id,
          'before',
          'idempotency keys kept',
        );
        store.close();
        const left = await readdir(dirname(path));
        if (what === 'another database put in its place') {
          assert.match(said ?? '', /the file found in its place is now .*queue\.sqlite\.displaced-\d+/);
          const displaced = left.find((name) => name.startsWith('queue.sqlite.displaced-')) as string;
          const kept = new Database(join(dirname(path), displaced));
          assert.deepEqual(kept.prepare('SELECT name FROM sqlite_master').all(), [{ name: 'other' }]);
          kept.close();
        } else {
          assert.deepEqual(
            left.filter((name) => name.includes('displaced') || name.endsWith('.restoring')),
            [],
          );
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses to open a database that is not one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meanserve-store-'));
    try {
      await writeFile(join(dir, 'queue.sqlite'), Buffer.alloc(8192, 0x5a));
      assert.throws(() => new JobStore(join(dir, 'queue.sqlite')), /cannot be used .*move it aside/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a job artifact changed on disk', () => {
  it('is refused with 409 damaged, never served', async () => {
    const app = await startApp();
    try {
      const submitted = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: spiral(2),
      });
      const id = submitted.json().id as string;
      await waitFor(
        'the job to complete',
        async () => (await app.inject(`/v1/jobs/${id}`)).json().state === 'completed',
      );
      const url = `/v1/jobs/${id}/artifacts/responses.json`;
      assert.equal((await app.inject(url)).statusCode, 200);
      const file = join(app.config.dataDir, 'jobs', 'artifacts', id, 'responses.json');
      const bytes = await readFile(file);
      bytes.writeUInt8(bytes.readUInt8(10) ^ 1, 10);
      await writeFile(file, bytes);
      const damaged = await app.inject(url);
      assert.equal(damaged.statusCode, 409);
      assert.equal(damaged.json().type, 'urn:meanserve:problem:damaged');
      await rm(file);
      assert.equal((await app.inject(url)).statusCode, 409);
    } finally {
      await stopApp(app);
    }
  });
});
