// Jobs run in child processes of their own (src/jobs/job-process.ts). A job stuck inside one native run —
// onnx.batch-infer on an uploaded graph whose run length is an input's value (test/fixtures/value-dependent/
// spin.onnx, here counting to 10^12: hours) — is cancelled for real: its process is killed once it has not
// stopped by itself within JOB_CANCEL_GRACE_MS, the queue's slot goes to the next job, and a closing server
// does not wait for the run. A job whose process dies under it (the kernel's OOM killer, a fatal error in
// native code: here a SIGKILL from outside) fails that try with a message that says so, and the API answers
// on. In threads, as before, the cancel waited for the run to end, and so did the server's close. A job
// process whose server is SIGKILLed while it is inside such a run ends within seconds, not when the run does.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { spiralJob, startApp, stopApp } from './helpers/app.js';
import { uploadBody, uploadModel } from './helpers/model-upload.js';
import {
  type ApiReplica,
  childProcessesOf,
  isRunning,
  startApiReplica,
  stopApiReplicas,
} from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const ADMIN = 'ops-0123456789abcdef0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
/** Loop iterations of the stuck request: hours of one native run. */
const FOREVER_STEPS = 1e12;

/** A spin request counting to `steps`. */
const spinRequest = (steps: number) => ({
  inputs: [
    { name: 'x', shape: [1, 1], datatype: 'FP32', data: [0] },
    { name: 'steps', shape: [1, 1], datatype: 'INT64', data: [steps] },
  ],
});

/** A job whose first request ends at once and whose second runs for hours. */
const stuckJob = {
  type: 'onnx.batch-infer',
  params: { model: 'spin', requests: [spinRequest(1), spinRequest(FOREVER_STEPS)] },
};

/** Job processes of `parent` (by default this test's process: the app runs in it). */
const jobProcesses = (parent?: number) => childProcessesOf('job-process-entry', parent);

async function startWithSpin(env: Record<string, string>, repositoryDir: string) {
  const app = await startApp({ ADMIN_API_KEYS: `ops:${ADMIN}`, MODEL_REPOSITORY_DIR: repositoryDir, ...env });
  const bytes = await readFile(new URL('./fixtures/value-dependent/spin.onnx', import.meta.url));
  const upload = await uploadModel(app, 'spin', '1', bytes, admin, { max_batch_size: 8 });
  assert.equal(upload.statusCode, 201, upload.body);
  const load = await app.inject({ method: 'POST', url: '/v2/repository/models/spin/load', headers: admin });
  assert.equal(load.statusCode, 200, load.body);
  return app;
}

async function submit(app: FastifyInstance, body: object): Promise<string> {
  const submitted = await app.inject({ method: 'POST', url: '/v1/jobs', payload: body });
  assert.equal(submitted.statusCode, 202, submitted.body);
  return submitted.json().id;
}

const readJob = async (app: FastifyInstance, id: string) =>
  (await app.inject({ url: `/v1/jobs/${id}` })).json();

/** Waits until the job has answered its first request: it is inside the second, endless run. */
const untilStuck = (app: FastifyInstance, id: string) =>
  waitFor('the job to start its endless run', async () => (await readJob(app, id)).progress?.fraction > 0);

const untilEnded = (app: FastifyInstance, id: string) =>
  waitFor('the job to end', async () => {
    const job = await readJob(app, id);
    return ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
  });

// First in the file: no job process is left from other tests.
/**
 * On a server running as a process at `base`: uploads and loads spin, submits the stuck job and waits until
 * it is inside its endless run; the job's id.
 */
async function submitStuckJob(base: string): Promise<string> {
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...admin, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const bytes = await readFile(new URL('./fixtures/value-dependent/spin.onnx', import.meta.url));
  assert.equal(
    (await send('PUT', '/v1/models/spin/versions/1', uploadBody(bytes, { max_batch_size: 8 }))).status,
    201,
  );
  assert.equal((await send('POST', '/v2/repository/models/spin/load', {})).status, 200);
  const submitted = await send('POST', '/v1/jobs', stuckJob);
  assert.equal(submitted.status, 202);
  const { id } = await submitted.json();
  await waitFor('the job to start its endless run', async () => {
    const job = await (await send('GET', `/v1/jobs/${id}`)).json();
    return job.progress?.fraction > 0;
  });
  return id;
}

describe('a server closing while a job is stuck inside one native run', () => {
  it('closes once the job has had SHUTDOWN_TIMEOUT_MS and JOB_CANCEL_GRACE_MS, its process killed', {
    timeout: 60_000,
  }, async () => {
    const repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-job-processes-'));
    const app = await startWithSpin(
      { JOB_CANCEL_GRACE_MS: '200', SHUTDOWN_TIMEOUT_MS: '200' },
      repositoryDir,
    );
    try {
      const stuck = await submit(app, stuckJob);
      await untilStuck(app, stuck);
      assert.equal(jobProcesses().length, 1, 'the first job of this file has the only job process');
      await stopApp(app);
      await waitFor('the stuck job’s process to be gone', async () => jobProcesses().length === 0);
    } finally {
      await rm(repositoryDir, { recursive: true, force: true });
    }
  });
});

describe('a job stuck inside one native run', () => {
  let app: FastifyInstance;
  let repositoryDir: string;

  before(async () => {
    repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-job-processes-'));
    // One job at a time (the default): a job that kept its slot would hold every job behind it.
    app = await startWithSpin({ JOB_CANCEL_GRACE_MS: '200', JOB_ATTEMPTS: '1' }, repositoryDir);
  });
  after(async () => {
    await stopApp(app);
    await rm(repositoryDir, { recursive: true, force: true });
  });

  it('is cancelled: its process is killed after JOB_CANCEL_GRACE_MS and the next job runs', {
    timeout: 60_000,
  }, async () => {
    const stuck = await submit(app, stuckJob);
    await untilStuck(app, stuck);
    const cancel = await app.inject({ method: 'DELETE', url: `/v1/jobs/${stuck}` });
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.equal((await untilEnded(app, stuck)).state, 'cancelled');
    const next = await submit(app, spiralJob());
    assert.equal((await untilEnded(app, next)).state, 'completed');
  });

  it('fails the try when its process is killed from outside, and the API answers on', {
    timeout: 60_000,
  }, async () => {
    const stuck = await submit(app, stuckJob);
    await untilStuck(app, stuck);
    const processes = jobProcesses();
    assert.ok(processes.length > 0, 'the job runs in a process of its own');
    for (const pid of processes) process.kill(pid, 'SIGKILL');
    const failed = await untilEnded(app, stuck);
    assert.equal(failed.state, 'failed', JSON.stringify(failed));
    assert.match(failed.error, /the job's process ended \(SIGKILL\) before the job finished/);
    assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200);
    const next = await submit(app, spiralJob());
    assert.equal((await untilEnded(app, next)).state, 'completed');
  });
});

describe('a job process whose server is SIGKILLed while it is inside one native run', () => {
  let replica: ApiReplica;
  let orphan: number | undefined;

  before(async () => {
    replica = await startApiReplica({ ADMIN_API_KEYS: `ops:${ADMIN}` });
  });
  after(async () => {
    await stopApiReplicas([replica]);
    if (orphan !== undefined && isRunning(orphan)) process.kill(orphan, 'SIGKILL');
  });

  it('ends within seconds instead of running on, orphaned', { timeout: 60_000 }, async () => {
    const server = replica.child;
    await submitStuckJob(replica.base);
    [orphan] = jobProcesses(server.process.pid as number);
    assert.ok(orphan !== undefined && isRunning(orphan), 'the job runs in a process of its own');
    server.process.kill('SIGKILL');
    await server.exited;
    const pid = orphan;
    await waitFor('the orphaned job process to end', async () => !isRunning(pid), 10_000);
  });
});

describe('a server SIGTERMed while a job is stuck inside one native run', () => {
  let replica: ApiReplica;

  before(async () => {
    // A grace longer than the 5 s the exit allowed past SHUTDOWN_TIMEOUT_MS before it counted the grace.
    replica = await startApiReplica({
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      SHUTDOWN_TIMEOUT_MS: '200',
      JOB_CANCEL_GRACE_MS: '6000',
    });
  });
  after(() => stopApiReplicas([replica]));

  it('stops the job within JOB_CANCEL_GRACE_MS and exits 0, not at its hard deadline', {
    timeout: 60_000,
  }, async () => {
    const server = replica.child;
    await submitStuckJob(replica.base);
    const [stuck] = jobProcesses(server.process.pid as number);
    assert.ok(stuck !== undefined, 'the job runs in a process of its own');
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output().slice(-2000));
    await waitFor('the job process to be gone', async () => !isRunning(stuck));
  });
});
