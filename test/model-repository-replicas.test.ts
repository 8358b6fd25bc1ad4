// The model repository on two real API processes sharing MODEL_REPOSITORY_DIR (each with its own DATA_DIR):
// a model uploaded and loaded through A is served by B without a restart, both versions of it after a
// second upload, and an unload through A takes it away on B too; a replica started afterwards loads what
// is marked loaded.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODELS_DIR } from './helpers/app.js';
import { uploadBody } from './helpers/model-upload.js';
import { type ApiReplica, startApiReplica, stopApiReplicas } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const ADMIN = 'ops-0123456789abcdef0123456789abcdef';
const USER = 'user-0123456789abcdef0123456789abcdef';
const input = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] };

describe('the model repository across API replicas', () => {
  const replicas: ApiReplica[] = [];
  let repositoryDir: string;
  let spiral: Buffer;

  const call = async (base: string, method: string, path: string, body?: object, key = USER) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };
  const start = async () => {
    const replica = await startApiReplica({
      API_KEYS: `user:${USER}`,
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      MODEL_REPOSITORY_DIR: repositoryDir,
      MODEL_REPOSITORY_POLL_MS: '200',
      INFERENCE_THREADS: '1',
    });
    replicas.push(replica);
    await waitFor(
      'the replica to be ready',
      async () => (await fetch(`${replica.base}/health/ready`)).status === 200,
      60_000,
      100,
    );
    return replica.base;
  };
  const served = (base: string, version: string) =>
    waitFor(
      `${base} to serve version ${version}`,
      async () =>
        (await call(base, 'POST', `/v2/models/shared-spiral/versions/${version}/infer`, input)).status ===
        200,
      10_000,
      50,
    );

  before(async () => {
    repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-shared-repository-'));
    spiral = await readFile(join(MODELS_DIR, 'spiral-mlp', 'model.onnx'));
  });
  after(async () => {
    await stopApiReplicas(replicas);
    await rm(repositoryDir, { recursive: true, force: true });
  });

  it('a model loaded through A appears on B, and leaves B when unloaded through A', async () => {
    const a = await start();
    const b = await start();
    const upload = (version: string) =>
      call(a, 'PUT', `/v1/models/shared-spiral/versions/${version}`, uploadBody(spiral), ADMIN);
    assert.equal((await upload('1')).status, 201);
    assert.equal((await call(b, 'POST', '/v2/models/shared-spiral/infer', input)).status, 404);
    assert.equal((await call(a, 'POST', '/v2/repository/models/shared-spiral/load', {}, ADMIN)).status, 200);
    await served(b, '1');
    const fromA = await call(a, 'POST', '/v2/models/shared-spiral/infer', input);
    const fromB = await call(b, 'POST', '/v2/models/shared-spiral/infer', input);
    assert.deepEqual(fromB.body.outputs, fromA.body.outputs);

    assert.equal((await upload('2')).status, 201);
    assert.equal(
      (
        await call(
          a,
          'POST',
          '/v2/repository/models/shared-spiral/load',
          { parameters: { version: '2' } },
          ADMIN,
        )
      ).status,
      200,
    );
    await served(b, '2');
    await served(b, '1');
    const index = await call(b, 'POST', '/v2/repository/index', { ready: true }, ADMIN);
    assert.deepEqual(
      index.body
        .filter((entry: { name: string }) => entry.name === 'shared-spiral')
        .map((entry: { version: string }) => entry.version),
      ['1', '2'],
    );

    const late = await start();
    await served(late, '2');

    assert.equal(
      (
        await call(
          a,
          'POST',
          '/v2/repository/models/shared-spiral/unload',
          { parameters: { version: '1' } },
          ADMIN,
        )
      ).status,
      200,
    );
    await waitFor(
      'B to drop version 1',
      async () => (await call(b, 'POST', '/v2/models/shared-spiral/versions/1/infer', input)).status === 404,
      10_000,
      50,
    );
    assert.equal(
      (await call(b, 'POST', '/v2/models/shared-spiral/infer', input)).status,
      200,
      'version 2 stays',
    );
  });
});
