// Each loaded upload runs in an inference process of its own (src/models/inference-isolation.ts), because an
// uploaded graph's run can follow its inputs' values: test/fixtures/value-dependent/spin.onnx counts to an
// input (10^12 here: hours of one native run) and fill.onnx allocates a buffer of an input's size. A run whose
// request has gone (its deadline passed) is killed INFERENCE_CANCEL_GRACE_MS later and the model serves the
// next request at once; unloading such a model and closing the server do not wait for the run either. A run
// that needs more memory than UPLOADED_MODEL_MEMORY_MB is the request's 422 (RLIMIT_DATA), not the machine's
// out-of-memory killer, and an upload whose run on zeros needs more is refused. A process killed under a run fails that request with a message that says so, and
// the next is served by its replacement. In threads, as before, the model answered no request for as long
// as the stuck run lasted, unload and close waited for it, and a 1.6 GB buffer was simply allocated. A server
// SIGTERMed with such a request in flight cancels it at SHUTDOWN_TIMEOUT_MS and exits 0; before, the request
// held the drain until the hard exit (1), and in a thread the exit itself waited for the run.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { uploadBody, uploadModel } from './helpers/model-upload.js';
import {
  type ApiReplica,
  childProcessesOf,
  cpuSeconds,
  isRunning,
  startApiReplica,
  stopApiReplicas,
} from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const ADMIN = 'ops-0123456789abcdef0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
/** Loop iterations of a stuck request: hours of one native run. */
const FOREVER_STEPS = 1e12;
const DEADLINE_MS = 4000;
const MEMORY_MB = 512;

const fixture = (name: string) =>
  readFile(new URL(`./fixtures/value-dependent/${name}.onnx`, import.meta.url));

/** A spin request counting to `steps` from `x`. */
const spinRequest = (steps: number, x = 0) => ({
  inputs: [
    { name: 'x', shape: [1, 1], datatype: 'FP32', data: [x] },
    { name: 'steps', shape: [1, 1], datatype: 'INT64', data: [steps] },
  ],
});

/** A fill request for a rows × columns buffer of floats, answered as binary tensor data. */
const fillRequest = (rows: number, columns: number) => ({
  inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [rows, columns] }],
  parameters: { binary_data_output: true },
});

const inferenceProcesses = () => childProcessesOf('inference-worker');

describe('uploaded models in inference processes of their own', () => {
  let app: FastifyInstance;
  let repositoryDir: string;

  const infer = (model: string, payload: object) =>
    app.inject({ method: 'POST', url: `/v2/models/${model}/infer`, payload });

  async function uploadAndLoad(name: string, settings: Record<string, unknown> = {}) {
    const upload = await uploadModel(app, name, '1', await fixture(name), admin, settings);
    assert.equal(upload.statusCode, 201, upload.body);
    await load(name);
  }

  async function load(name: string) {
    const load = await app.inject({
      method: 'POST',
      url: `/v2/repository/models/${name}/load`,
      headers: admin,
    });
    assert.equal(load.statusCode, 200, load.body);
  }

  /** Sends a spin request stuck for hours; resolves once its run has started, with its answer to come. */
  async function stuckSpin() {
    const answer = infer('spin', spinRequest(FOREVER_STEPS));
    await waitFor('the stuck run to start', async () => app.models.get('spin').inFlight === 1, 5000, 5);
    return { answer };
  }

  before(async () => {
    repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-upload-processes-'));
    app = await startApp({
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      MODEL_REPOSITORY_DIR: repositoryDir,
      DEADLINES: `inference=${DEADLINE_MS}`,
      INFERENCE_CANCEL_GRACE_MS: '500',
      UPLOADED_MODEL_MEMORY_MB: String(MEMORY_MB),
    });
    await uploadAndLoad('spin', { max_batch_size: 8 });
    await uploadAndLoad('fill');
  });
  after(async () => {
    await stopApp(app);
    await rm(repositoryDir, { recursive: true, force: true });
  });

  it('runs each loaded upload in a process of its own, under UPLOADED_MODEL_MEMORY_MB', async () => {
    const pids = inferenceProcesses();
    assert.equal(pids.length, 2, 'spin and fill');
    for (const pid of pids) {
      const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
      assert.match(limits, new RegExp(`Max data size\\s+${MEMORY_MB * 2 ** 20}\\s`));
    }
  });

  it('kills a run that outlives its request, and answers the next request at once', async () => {
    const before = inferenceProcesses();
    const stuck = await (await stuckSpin()).answer;
    assert.equal(stuck.statusCode, 503, stuck.body);
    assert.equal(stuck.json().type, 'urn:meanserve:problem:deadline-exceeded');
    // In a thread the next requests waited behind the run, and met their deadlines too.
    const next = await infer('spin', spinRequest(3, 1));
    assert.equal(next.statusCode, 200, next.body);
    assert.equal(next.json().outputs[0].data[0], 4);
    const replaced = before.filter((pid) => !isRunning(pid));
    assert.equal(replaced.length, 1, 'the stuck run’s process, and only it, is gone');
    assert.equal(inferenceProcesses().length, 2, 'replaced');
  });

  it('answers 422 for a run that needs more memory than UPLOADED_MODEL_MEMORY_MB', async () => {
    // 20 000 × 20 000 floats: 1.6 GB, more than the process may hold (in a thread it was allocated).
    const huge = await infer('fill', fillRequest(20_000, 20_000));
    assert.equal(huge.statusCode, 422, huge.body.slice(0, 300));
    assert.match(huge.json().error, /ConstantOfShape node: failed to allocate memory/);
    const fits = await infer('fill', fillRequest(4000, 4000));
    assert.equal(fits.statusCode, 200, fits.body.slice(0, 300));
    const header = Number(fits.headers['inference-header-content-length']);
    assert.equal(fits.rawPayload.length - header, 4000 * 4000 * 4);
  });

  it('refuses an upload whose run on zeros needs more memory than UPLOADED_MODEL_MEMORY_MB', async () => {
    // hog fills 1.6 GB on every run: the process an upload is tried in has the same limit.
    const refused = await uploadModel(app, 'hog', '1', await fixture('hog'), admin);
    assert.equal(refused.statusCode, 400, refused.body);
    const field = refused.json().errors.find((error: { path: string }) => error.path === '/body/model');
    assert.match(field?.message ?? '', /ConstantOfShape node: failed to allocate memory/i);
  });

  it('fails the request whose process is killed under it, saying so, and serves the next', async () => {
    const { answer } = await stuckSpin();
    for (const pid of inferenceProcesses()) process.kill(pid, 'SIGKILL');
    const killed = await answer;
    assert.equal(killed.statusCode, 422, killed.body);
    assert.match(killed.json().error, /its process ended \(SIGKILL\) during the run/);
    const next = await infer('spin', spinRequest(2, 5));
    assert.equal(next.statusCode, 200, next.body);
    assert.equal(next.json().outputs[0].data[0], 7);
    const fill = await infer('fill', fillRequest(2, 2));
    assert.equal(fill.statusCode, 200, 'the idle process killed with it is replaced too');
  });

  it('unloads a model whose run is stuck once the run’s request has gone', async () => {
    const { answer } = await stuckSpin();
    const unload = await app.inject({
      method: 'POST',
      url: '/v2/repository/models/spin/unload',
      headers: admin,
    });
    assert.equal(unload.statusCode, 200, unload.body);
    assert.equal((await answer).statusCode, 503);
    assert.equal(inferenceProcesses().length, 1, 'fill’s only');
    const gone = await infer('spin', spinRequest(1));
    assert.equal(gone.statusCode, 404, gone.body);
  });

  it('closes without waiting for a stuck run, and leaves no inference process', async () => {
    await load('spin');
    const { answer } = await stuckSpin();
    const pids = inferenceProcesses();
    await app.models.close();
    assert.equal((await answer).statusCode, 503);
    await waitFor('every inference process to end', async () => pids.every((pid) => !isRunning(pid)));
  });
});

describe('a server SIGTERMed while a request is stuck in an uploaded model’s run', () => {
  let replica: ApiReplica;

  before(async () => {
    // The hard exit 1 + 0 + 5 s after the signal; the request's own deadline (120 s) far beyond it.
    replica = await startApiReplica({
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      SHUTDOWN_TIMEOUT_MS: '1000',
      JOB_CANCEL_GRACE_MS: '0',
      INFERENCE_CANCEL_GRACE_MS: '200',
    });
  });
  after(() => stopApiReplicas([replica]));

  it('cancels the request at SHUTDOWN_TIMEOUT_MS, kills the run and exits 0', {
    timeout: 60_000,
  }, async () => {
    const { child: server, base } = replica;
    // Ready: a close waits for the manifest's models to finish loading.
    await waitFor('the server to be ready', async () => (await fetch(`${base}/health/ready`)).ok, 60_000);
    const send = (method: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const upload = await send('PUT', '/v1/models/spin/versions/1', uploadBody(await fixture('spin')));
    assert.equal(upload.status, 201);
    assert.equal((await send('POST', '/v2/repository/models/spin/load', {})).status, 200);
    const [worker] = childProcessesOf('inference-worker', server.process.pid as number);
    assert.ok(worker !== undefined, 'the upload runs in a process of its own');
    // Its start and load took CPU time too: the run's is what comes after.
    const started = cpuSeconds(worker);
    const stuck = send('POST', '/v2/models/spin/infer', spinRequest(FOREVER_STEPS));
    await waitFor('the run to start', async () => cpuSeconds(worker) > started + 0.5, 10_000);
    server.process.kill('SIGTERM');
    const answer = await stuck;
    assert.equal(answer.status, 503);
    assert.match((await answer.json()).detail, /the server is shutting down/);
    assert.equal(await server.exited, 0, server.output().slice(-2000));
    await waitFor('the inference process to be gone', async () => !isRunning(worker));
  });
});
