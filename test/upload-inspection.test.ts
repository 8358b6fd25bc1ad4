// An upload whose graph's run on zeros does not end (test/fixtures/value-dependent/forever.onnx: a Loop of
// 2^62 iterations whatever its input) is refused once MODEL_INSPECTION_TIMEOUT_MS has passed, naming the
// setting, and nothing is stored; the process that ran it is killed, so the next upload is tried as usual
// and nothing is left running. Before, the upload never answered, each try left a thread busy inside
// onnxruntime's run, and the server could not exit while one ran. An inspection process whose server is
// SIGKILLed mid-run ends within seconds instead of running on, orphaned, for good.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MODELS_DIR, startApp, stopApp } from './helpers/app.js';
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

describe('an upload whose graph never finishes a run on zeros', () => {
  let app: FastifyInstance;
  let repositoryDir: string;
  let forever: Buffer;
  let spiral: Buffer;

  before(async () => {
    repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-inspection-'));
    forever = await readFile(new URL('./fixtures/value-dependent/forever.onnx', import.meta.url));
    spiral = await readFile(join(MODELS_DIR, 'spiral-mlp', 'model.onnx'));
    app = await startApp({
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      MODEL_REPOSITORY_DIR: repositoryDir,
      MODEL_INSPECTION_TIMEOUT_MS: '300',
    });
  });
  after(async () => {
    await stopApp(app);
    await rm(repositoryDir, { recursive: true, force: true });
  });

  const upload = (name: string, bytes: Buffer) =>
    uploadModel(app, name, '1', bytes, { authorization: `Bearer ${ADMIN}` });

  it('is refused after MODEL_INSPECTION_TIMEOUT_MS, stores nothing, and leaves nothing running', {
    timeout: 60_000,
  }, async () => {
    for (const name of ['forever-a', 'forever-b']) {
      const refused = await upload(name, forever);
      assert.equal(refused.statusCode, 400, refused.body);
      const field = refused.json().errors.find((error: { path: string }) => error.path === '/body/model');
      assert.match(field?.message ?? '', /did not end within 300 ms \(MODEL_INSPECTION_TIMEOUT_MS\)/);
    }
    const index = await app.inject({
      method: 'POST',
      url: '/v2/repository/index',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.deepEqual(
      index.json().filter((entry: { name: string }) => entry.name.startsWith('forever')),
      [],
      'nothing stored',
    );
    const next = await upload('spiral-copy', spiral);
    assert.equal(next.statusCode, 201, next.body);
    const children = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' });
    assert.doesNotMatch(children, /graph-inspection-process/, 'no inspection process left');
    assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200);
  });
});

describe('an inspection process whose server is SIGKILLed while it runs a graph that never ends', () => {
  let replica: ApiReplica;
  let orphan: number | undefined;

  before(async () => {
    replica = await startApiReplica({
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      MODEL_INSPECTION_TIMEOUT_MS: '600000',
    });
  });
  after(async () => {
    await stopApiReplicas([replica]);
    if (orphan !== undefined && isRunning(orphan)) process.kill(orphan, 'SIGKILL');
  });

  it('ends within seconds instead of running on, orphaned', { timeout: 60_000 }, async () => {
    const { child: server, base } = replica;
    const forever = await readFile(new URL('./fixtures/value-dependent/forever.onnx', import.meta.url));
    // Never answered: the server dies under it.
    fetch(`${base}/v1/models/forever/versions/1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(uploadBody(forever)),
    }).catch(() => undefined);
    const pid = await waitFor('the inspection process to start', async () => {
      [orphan] = childProcessesOf('graph-inspection-process', server.process.pid as number);
      return orphan;
    });
    // Past its start (modules load in about a second of CPU), it is inside the run that never ends, where
    // its event loop cannot hear its server go.
    await waitFor('the inspection process to be inside the run', async () => cpuSeconds(pid) > 4);
    server.process.kill('SIGKILL');
    await server.exited;
    await waitFor('the orphaned inspection process to end', async () => !isRunning(pid), 10_000);
  });
});
