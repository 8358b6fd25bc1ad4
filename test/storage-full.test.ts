// A full disk under DATA_DIR: writes (collections, job submissions, model uploads) answer 507 Insufficient
// Storage in problem+json (they were 500s, "an internal error occurred"), nothing acknowledged is lost, a
// create the disk refused leaves nothing behind, a job whose outcome the disk refused finishes once there
// is room again, and everything works again once space is freed. The disk is a real one: a small tmpfs
// mounted for the test (mount(8) needs root, as CI has; elsewhere the test is skipped and says why).
import assert from 'node:assert/strict';
import { open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { assertLive, MODELS_DIR, spiralJob, testConfig } from './helpers/app.js';
import { uploadBody } from './helpers/model-upload.js';
import { CANNOT_MOUNT, type TestTmpfs, temporaryTmpfs } from './helpers/mounts.js';
import { waitFor } from './helpers/wait.js';

/** Writes zeros to `path` until the file system refuses with ENOSPC, to the last page. */
async function fillDisk(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const size of [64 * 1024, 4096]) {
      const block = Buffer.alloc(size);
      try {
        for (;;) await file.write(block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** An `iterated-map` request of `steps` iterations (200 000 take about a second). */
const iterations = (steps: number) => ({
  inputs: [
    { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.1) },
    { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
  ],
});

const points = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: `p${from + i}`,
    vector: Array.from({ length: 16 }, (_, k) => Math.sin((from + i) * 7 + k)),
  }));

async function startOn(dataDir: string): Promise<FastifyInstance> {
  const app = await buildApp(await testConfig({ DATA_DIR: dataDir }));
  await app.ready();
  await app.models.loaded();
  return app;
}

describe('a full disk under DATA_DIR', () => {
  let disk: TestTmpfs;
  let app: FastifyInstance | undefined;

  before(async () => {
    disk = await temporaryTmpfs('meanserve-full-', 'size=4m');
  });

  after(async () => {
    await app?.close();
    await disk.remove();
  });

  it('answers writes 507, keeps what it acknowledged and takes writes again once space is freed', async (t) => {
    if (!disk.mounted) {
      t.skip(CANNOT_MOUNT);
      return;
    }
    const mountPoint = disk.dir;
    const dataDir = join(mountPoint, 'data');
    const model = await readFile(join(MODELS_DIR, 'spiral-mlp', 'model.onnx'));
    app = await startOn(dataDir);
    const call = (method: 'POST' | 'PUT', url: string, payload: object) =>
      (app as FastifyInstance).inject({ method, url, payload });
    assert.equal((await call('POST', '/v1/collections', { name: 'kept', dim: 16 })).statusCode, 201);
    assert.equal(
      (await call('PUT', '/v1/collections/kept/points', { points: points(0, 20) })).statusCode,
      200,
    );

    const filler = join(mountPoint, 'filler');
    await fillDisk(filler);
    const refused = await call('PUT', '/v1/collections/kept/points', { points: points(20, 20) });
    assert.equal(refused.statusCode, 507, refused.body);
    assert.match(refused.headers['content-type'] as string, /^application\/problem\+json/);
    assert.equal(refused.json().type, 'urn:meanserve:problem:storage-full');
    assert.match(refused.json().detail, /disk is full.*not saved/);
    assert.equal((await call('POST', '/v1/collections', { name: 'late', dim: 16 })).statusCode, 507);
    // What the disk refused is not served either: the refused points were readable and searchable, a
    // refused deletion had removed its point, a refused drop its collection, and the next save that
    // succeeded wrote them all, though every client had been told they were not saved.
    const inject = (url: string) => (app as FastifyInstance).inject(url);
    assert.equal((await inject('/v1/collections/kept/points/p20')).statusCode, 404);
    assert.equal((await inject('/v1/collections/kept')).json().count, 20);
    const refusedDelete = await (app as FastifyInstance).inject({
      method: 'DELETE',
      url: '/v1/collections/kept/points/p0',
    });
    assert.equal(refusedDelete.statusCode, 507, refusedDelete.body);
    assert.equal((await inject('/v1/collections/kept/points/p0')).statusCode, 200);
    const refusedDrop = await (app as FastifyInstance).inject({
      method: 'DELETE',
      url: '/v1/collections/kept',
    });
    assert.equal(refusedDrop.statusCode, 507, refusedDrop.body);
    assert.equal((await inject('/v1/collections/kept')).json().count, 20);
    // Job submissions write to the job store (SQLite): it may absorb a few in pages it already has.
    let submission = await call('POST', '/v1/jobs', spiralJob());
    for (let tries = 0; submission.statusCode === 202 && tries < 200; tries++)
      submission = await call('POST', '/v1/jobs', spiralJob());
    assert.equal(submission.statusCode, 507, submission.body);
    assert.equal(submission.json().type, 'urn:meanserve:problem:storage-full');
    const upload = await call('PUT', '/v1/models/uploaded/versions/1', uploadBody(model));
    assert.equal(upload.statusCode, 507, upload.body);
    await assertLive(app);

    await rm(filler);
    // The refused create left nothing behind: its retry creates the collection (it answered 409 before).
    assert.equal((await call('POST', '/v1/collections', { name: 'late', dim: 16 })).statusCode, 201);
    assert.equal(
      (await call('PUT', '/v1/collections/kept/points', { points: points(40, 5) })).statusCode,
      200,
    );
    assert.equal((await inject('/v1/collections/kept')).json().count, 25, 'the refused points stayed out');
    assert.equal((await call('POST', '/v1/jobs', spiralJob())).statusCode, 202);

    // A job whose try ends while the disk is full: its outcome cannot be recorded. It stayed `running` for
    // good (until a restart ran it again); now its recording is retried, and the job finishes once there
    // is room.
    const job = await call('POST', '/v1/jobs', {
      type: 'onnx.batch-infer',
      params: { model: 'iterated-map', requests: [iterations(200_000)] },
    });
    assert.equal(job.statusCode, 202, job.body);
    const { id } = job.json();
    const state = async () => (await (app as FastifyInstance).inject(`/v1/jobs/${id}`)).json().state;
    await waitFor('the job to start', async () => (await state()) === 'running');
    await fillDisk(filler);
    let blocked = await call('POST', '/v1/jobs', spiralJob());
    for (let tries = 0; blocked.statusCode === 202 && tries < 200; tries++)
      blocked = await call('POST', '/v1/jobs', spiralJob());
    assert.equal(blocked.statusCode, 507, 'the job store is full');
    // The try (about a second) ends meanwhile, its artifacts and its outcome refused by the disk.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(await state(), 'running');
    await rm(filler);
    await waitFor('the job to complete', async () => (await state()) === 'completed', 20_000);

    // After a restart on the same disk, every acknowledged write is there.
    await app.close();
    const restarted = await startOn(dataDir);
    app = restarted;
    for (const { id } of [...points(0, 20), ...points(40, 5)]) {
      const found = await restarted.inject(`/v1/collections/kept/points/${id}`);
      assert.equal(found.statusCode, 200, `${id}: ${found.body}`);
    }
    assert.equal((await restarted.inject('/v1/collections/late')).statusCode, 200);
    assert.equal((await restarted.inject('/v1/collections/kept')).json().count, 25);
  });

  it('keeps a collection damaged, its file in place, when the disk refuses the recovered file', async (t) => {
    if (!disk.mounted) {
      t.skip(CANNOT_MOUNT);
      return;
    }
    await app?.close();
    const dataDir = join(disk.dir, 'recovery');
    const collections = join(dataDir, 'collections');
    app = await startOn(dataDir);
    await app.inject({ method: 'POST', url: '/v1/collections', payload: { name: 'mended', dim: 16 } });
    await app.inject({
      method: 'PUT',
      url: '/v1/collections/mended/points',
      payload: { points: points(0, 20) },
    });
    await app.close();
    const file = join(collections, 'mended.collection');
    await truncate(file, (await stat(file)).size - 7);
    app = await startOn(dataDir);
    const served = app;
    const state = async () => (await served.inject('/v1/collections/mended')).json().state;
    const recover = () =>
      served.inject({ method: 'POST', url: '/v1/collections/mended/recover', payload: {} });
    assert.equal(await state(), 'damaged');

    const filler = join(disk.dir, 'filler');
    await fillDisk(filler);
    const refused = await recover();
    assert.equal(refused.statusCode, 507, refused.body);
    // The damaged file is back in its place (it had been moved aside first), and nothing else is left.
    assert.deepEqual(
      (await readdir(collections)).filter((name) => name.startsWith('mended')),
      ['mended.collection'],
    );
    assert.equal(await state(), 'damaged');

    await rm(filler);
    const recovered = await recover();
    assert.equal(recovered.statusCode, 200, recovered.body);
    assert.equal(recovered.json().recovered + recovered.json().lost, 20);
    assert.equal((await served.inject('/v1/collections/mended')).json().count, recovered.json().recovered);
  });
});
