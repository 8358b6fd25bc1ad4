// The model repository API on one server: upload → load → infer through /v2/models/{name}/infer → upload
// version 2 → both served → unload version 1 while a request on it is in flight (it completes first) → the
// index says what is loaded; admin keys only; and every bad upload or unload a clear 4xx with nothing stored
// or half-loaded: not ONNX, truncated, an operator onnxruntime lacks, a wrong sha256, too large, a baked-in
// name, a changed file under an old version, batching a graph cannot take, a model a job is using, a stored
// file damaged on disk, a graph whose tensors say their bytes are in another file (the server's own); and a
// loaded version whose entry.json the disk damaged goes on being served, reported, until the same file
// repairs it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { EXTERNAL_DATA_FIXTURES, externalDataFixture } from './helpers/external-data.js';
import { uploadModel } from './helpers/model-upload.js';
import { waitFor } from './helpers/wait.js';

const ADMIN = 'ops-0123456789abcdef0123456789abcdef';
const USER = 'user-0123456789abcdef0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
const user = { authorization: `Bearer ${USER}` };

const iterate = (rows: number, steps: number) => ({
  inputs: [
    { name: 'x', shape: [rows, 8], datatype: 'FP32', data: new Array(rows * 8).fill(0.5) },
    { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
  ],
});
const spiralInput = { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [0.3, -0.7, 1.2, 0.4] }] };

describe('the model repository API', () => {
  let app: FastifyInstance;
  let repositoryDir: string;
  let spiral: Buffer;
  let iterated: Buffer;

  before(async () => {
    repositoryDir = await mkdtemp(join(tmpdir(), 'meanserve-repository-'));
    spiral = await readFile(join(MODELS_DIR, 'spiral-mlp', 'model.onnx'));
    iterated = await readFile(join(MODELS_DIR, 'iterated-map', 'model.onnx'));
    app = await startApp({
      API_KEYS: `user:${USER}`,
      ADMIN_API_KEYS: `ops:${ADMIN}`,
      MODEL_REPOSITORY_DIR: repositoryDir,
      MODEL_UPLOAD_LIMIT_BYTES: '16384',
      // Two threads: one computes the long request on version 1 while the other answers version 2.
      INFERENCE_THREADS: '2',
    });
  });
  after(async () => {
    await stopApp(app);
    await rm(repositoryDir, { recursive: true, force: true });
  });

  const upload = (name: string, version: string, bytes: Uint8Array, settings: Record<string, unknown> = {}) =>
    uploadModel(app, name, version, bytes, admin, settings);
  const post = (url: string, payload: unknown = {}, headers = admin) =>
    app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });
  const index = async () =>
    (await post('/v2/repository/index')).json() as {
      name: string;
      version: string;
      state: string;
      reason?: string;
    }[];
  const damagedGauge = async () =>
    Number(
      /^meanserve_model_repository_damaged (\d+)$/m.exec(
        (await app.inject({ url: '/metrics', headers: user })).body,
      )?.[1],
    );
  const line = async (name: string, version: string) =>
    (await index()).find((entry) => entry.name === name && entry.version === version);

  it('is for admin keys only', async () => {
    assert.equal((await post('/v2/repository/index', {}, {} as typeof admin)).statusCode, 401);
    const withUserKey = await post('/v2/repository/index', {}, user);
    assert.equal(withUserKey.statusCode, 401);
    assert.equal(typeof withUserKey.json().error, 'string', "KServe's error shape under /v2");
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/models/x/versions/1',
      headers: user,
      payload: {},
    });
    assert.equal(put.statusCode, 401);
    assert.equal((await post('/v2/repository/index')).statusCode, 200);
    const metadata = (await app.inject({ url: '/v2', headers: user })).json();
    assert.ok(metadata.extensions.includes('model_repository'));
  });

  it('uploads, loads and serves a model; the index lists baked-in and uploaded models with their state', async () => {
    const uploaded = await upload('my-spiral', '1', spiral, {
      max_batch_size: 8,
      description: 'spiral copy',
    });
    assert.equal(uploaded.statusCode, 201, uploaded.body);
    const body = uploaded.json();
    assert.deepEqual(
      body.inputs.map((spec: { name: string; shape: number[] }) => [spec.name, spec.shape]),
      [['x', [-1, 2]]],
      'inputs read from the graph',
    );
    assert.deepEqual(body.outputs.map((spec: { name: string }) => spec.name).sort(), [
      'label',
      'logits',
      'probabilities',
    ]);
    assert.deepEqual(body.work, { max: 65_536, rows: 'x' });
    assert.equal((await line('my-spiral', '1'))?.state, 'UNAVAILABLE');
    assert.equal((await line('spiral-mlp', '1'))?.state, 'READY');
    const before = await app.inject({
      method: 'POST',
      url: '/v2/models/my-spiral/infer',
      headers: user,
      payload: spiralInput,
    });
    assert.equal(before.statusCode, 404, 'not served before it is loaded');

    const load = await post('/v2/repository/models/my-spiral/load');
    assert.equal(load.statusCode, 200, load.body);
    assert.equal((await line('my-spiral', '1'))?.state, 'READY');
    const ours = await app.inject({
      method: 'POST',
      url: '/v2/models/my-spiral/infer',
      headers: user,
      payload: spiralInput,
    });
    const baked = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      headers: user,
      payload: spiralInput,
    });
    assert.equal(ours.statusCode, 200, ours.body);
    assert.deepEqual(ours.json().outputs, baked.json().outputs, 'the same graph gives the same numbers');
    const listed = (await app.inject({ url: '/v1/models/my-spiral', headers: user })).json();
    assert.equal(listed.max_batch_size, 8);
    assert.equal(listed.description, 'spiral copy');
    assert.deepEqual(
      (await post('/v2/repository/index', { ready: true }))
        .json()
        .filter((entry: { name: string }) => entry.name === 'my-spiral').length,
      1,
    );
  });

  it('serves two versions, and unloads version 1 only after its request in flight has completed', async () => {
    const settings = {
      ranges: { steps: { minimum: 0, maximum: 2_000_000 } },
      work: { max: 100_000_000, rows: 'x', per_row: 'steps' },
    };
    assert.equal((await upload('slow-map', '1', iterated, settings)).statusCode, 201);
    assert.equal((await upload('slow-map', '2', iterated, settings)).statusCode, 201);
    assert.equal(
      (await post('/v2/repository/models/slow-map/load', { parameters: { version: '1' } })).statusCode,
      200,
    );
    assert.equal((await line('slow-map', '2'))?.state, 'UNAVAILABLE', 'only the version asked for');
    assert.equal(
      (await post('/v2/repository/models/slow-map/load', { parameters: { version: '2' } })).statusCode,
      200,
    );
    const finished: string[] = [];
    const slow = app
      .inject({
        method: 'POST',
        url: '/v2/models/slow-map/versions/1/infer',
        headers: user,
        payload: iterate(100, 1_000_000),
      })
      .then((response) => {
        finished.push('request');
        return response;
      });
    await waitFor(
      'the request on version 1 to be in flight',
      async () => app.models.get('slow-map', '1').inFlight === 1,
      5000,
      2,
    );
    const quick = await app.inject({
      method: 'POST',
      url: '/v2/models/slow-map/versions/2/infer',
      headers: user,
      payload: iterate(1, 3),
    });
    assert.equal(quick.statusCode, 200, 'version 2 answers while version 1 computes');
    assert.deepEqual(
      (await index())
        .filter((entry) => entry.name === 'slow-map')
        .map((entry) => [entry.version, entry.state]),
      [
        ['1', 'READY'],
        ['2', 'READY'],
      ],
    );

    const unload = post('/v2/repository/models/slow-map/unload', { parameters: { version: '1' } }).then(
      (response) => {
        finished.push('unload');
        return response;
      },
    );
    await waitFor(
      'version 1 to stop taking requests',
      async () => (await line('slow-map', '1'))?.state === 'UNLOADING',
      5000,
      2,
    );
    const refused = await app.inject({
      method: 'POST',
      url: '/v2/models/slow-map/versions/1/infer',
      headers: user,
      payload: iterate(1, 1),
    });
    assert.equal(refused.statusCode, 404, 'an unloading version takes no new request');
    const [response, unloaded] = await Promise.all([slow, unload]);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().outputs[0].shape[0], 100);
    assert.equal(unloaded.statusCode, 200, unloaded.body);
    assert.deepEqual(finished, ['request', 'unload']);
    assert.deepEqual(
      (await index())
        .filter((entry) => entry.name === 'slow-map')
        .map((entry) => [entry.version, entry.state, entry.reason]),
      [
        ['1', 'UNAVAILABLE', 'not loaded'],
        ['2', 'READY', undefined],
      ],
    );
    const latest = await app.inject({
      method: 'POST',
      url: '/v2/models/slow-map/infer',
      headers: user,
      payload: iterate(1, 3),
    });
    assert.equal(latest.statusCode, 200);
    assert.equal(app.models.get('slow-map').entry.version, '2');
  });

  it('refuses to unload a model a job is using (409), and a baked-in model', async () => {
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: user,
      payload: {
        type: 'onnx.batch-infer',
        params: { model: 'slow-map', version: '2', requests: [iterate(50, 1_000_000)] },
      },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const refused = await post('/v2/repository/models/slow-map/unload');
    assert.equal(refused.statusCode, 409, refused.body);
    assert.match(refused.json().error, new RegExp(id));
    assert.equal((await line('slow-map', '2'))?.state, 'READY', 'still loaded');
    await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: user });
    // A job runs the uploaded model too: its thread finds it in the repository, not in the manifest.
    const small = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: user,
      payload: {
        type: 'onnx.batch-infer',
        params: { model: 'slow-map', version: '2', requests: [iterate(2, 5)] },
      },
    });
    const done = await waitFor(
      'the small job to finish',
      async () => {
        const job = (await app.inject({ url: `/v1/jobs/${small.json().id}`, headers: user })).json();
        return job.state === 'completed' || job.state === 'failed' ? job : undefined;
      },
      30_000,
    );
    assert.equal(done.state, 'completed', done.error);
    const direct = await app.inject({
      method: 'POST',
      url: '/v2/models/slow-map/versions/2/infer',
      headers: user,
      payload: iterate(2, 5),
    });
    assert.deepEqual(done.result.responses[0].outputs[0].data, direct.json().outputs[0].data);
    const baked = await post('/v2/repository/models/spiral-mlp/unload');
    assert.equal(baked.statusCode, 409);
    assert.equal((await post('/v2/repository/models/nothing-here/load')).statusCode, 404);
  });

  const refusals: Array<
    [
      string,
      () => Promise<{ statusCode: number; json(): { errors?: { path: string }[] } }>,
      number,
      string | undefined,
    ]
  > = [
    ['not ONNX', () => upload('bad', '1', Buffer.from('this is not a model at all')), 400, '/body/model'],
    ['a truncated file', () => upload('bad', '1', spiral.subarray(0, 2000)), 400, '/body/model'],
    [
      'an operator onnxruntime does not have',
      () => upload('bad', '1', Buffer.from(spiral.toString('latin1').replace('MatMul', 'MatMux'), 'latin1')),
      400,
      '/body/model',
    ],
    [
      'a sha256 that does not match',
      () =>
        app.inject({
          method: 'PUT',
          url: '/v1/models/bad/versions/1',
          headers: admin,
          payload: { model: spiral.toString('base64'), sha256: 'a'.repeat(64) },
        }),
      400,
      '/body/sha256',
    ],
    [
      'a file over MODEL_UPLOAD_LIMIT_BYTES',
      () => upload('bad', '1', Buffer.alloc(20_000, 7)),
      413,
      '/body/model',
    ],
    ['a baked-in name', () => upload('spiral-mlp', '9', spiral), 409, undefined],
    ['another file under a stored version', () => upload('my-spiral', '1', iterated), 409, undefined],
    [
      'batching a graph whose steps input is not batched',
      () => upload('bad', '1', iterated, { max_batch_size: 4 }),
      400,
      '/body/max_batch_size',
    ],
    [
      'a range for an input the graph lacks',
      () => upload('bad', '1', spiral, { ranges: { y: { minimum: 0, maximum: 1 } } }),
      400,
      '/body/ranges/y',
    ],
    ['a version that starts with a dot', () => upload('bad', '.x', spiral), 400, '/params/version'],
  ];
  for (const [label, send, status, path] of refusals) {
    it(`refuses ${label} with ${status}, storing nothing`, async () => {
      const response = await send();
      assert.equal(response.statusCode, status, JSON.stringify(response.json()));
      if (path !== undefined)
        assert.ok(
          response.json().errors?.some((error) => error.path === path),
          JSON.stringify(response.json()),
        );
      assert.equal(
        (await index()).some((entry) => entry.name === 'bad'),
        false,
        'nothing stored',
      );
    });
  }

  it('refuses a graph with a tensor in another file (ONNX external data) before onnxruntime reads that file', async () => {
    const packageStart = (await readFile('package.json')).subarray(0, 16).toString('latin1');
    for (const fixture of EXTERNAL_DATA_FIXTURES) {
      const bytes = await readFile(externalDataFixture(fixture));
      const response = await upload('leak', '1', bytes);
      assert.equal(response.statusCode, 400, `${fixture}: ${response.body}`);
      const problem = response.json();
      assert.ok(
        problem.errors.some(
          (error: { path: string; message: string }) =>
            error.path === '/body/model' &&
            /keeps its bytes in another file \('package\.json'\)/.test(error.message),
        ),
        `${fixture}: ${response.body}`,
      );
      assert.ok(!response.body.includes(packageStart.slice(4)), 'nothing of the file in the answer');
      assert.equal((await line('leak', '1'))?.state, undefined, `${fixture}: nothing stored`);
    }
  });

  it('accepts the same file under the same version again (200, not stored twice)', async () => {
    const again = await upload('my-spiral', '1', spiral, { max_batch_size: 8 });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().created, false);
  });

  it('keeps serving a loaded version whose entry.json is damaged on disk, says why, and repairs it from the same file', async () => {
    assert.equal((await upload('sturdy', '1', spiral)).statusCode, 201);
    assert.equal((await post('/v2/repository/models/sturdy/load')).statusCode, 200);
    const entryFile = join(repositoryDir, 'sturdy', '1', 'entry.json');
    const entry = await readFile(entryFile);
    await writeFile(entryFile, entry.subarray(0, 40));
    // The poll that finds the damage reports it: before, that poll unloaded the version on every replica.
    await waitFor('the poll to find the damage', async () => (await damagedGauge()) === 1);
    const infer = () =>
      app.inject({ method: 'POST', url: '/v2/models/sturdy/infer', headers: user, payload: spiralInput });
    assert.equal((await infer()).statusCode, 200, 'still served');
    const damaged = await line('sturdy', '1');
    assert.equal(damaged?.state, 'READY');
    assert.match(damaged?.reason ?? '', /damaged on disk: entry\.json is not JSON/);
    const other = await upload('sturdy', '1', iterated);
    assert.equal(other.statusCode, 409, 'another file under the version is still refused');
    const repaired = await upload('sturdy', '1', spiral);
    assert.equal(repaired.statusCode, 201, repaired.body);
    assert.deepEqual(JSON.parse(await readFile(entryFile, 'utf8')), JSON.parse(entry.toString()));
    await waitFor('the poll to find it repaired', async () => (await damagedGauge()) === 0);
    assert.equal((await infer()).statusCode, 200);
    assert.equal((await line('sturdy', '1'))?.reason, undefined);
  });

  it('refuses to load a stored file damaged on disk, loads nothing and says why in the index', async () => {
    assert.equal((await upload('fragile', '1', spiral)).statusCode, 201);
    const file = join(repositoryDir, 'fragile', '1', 'model.onnx');
    const bytes = await readFile(file);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    await writeFile(file, bytes);
    const load = await post('/v2/repository/models/fragile/load');
    assert.equal(load.statusCode, 400, load.body);
    assert.match(load.json().error, /sha256/);
    const entry = await line('fragile', '1');
    assert.equal(entry?.state, 'UNAVAILABLE');
    const infer = await app.inject({
      method: 'POST',
      url: '/v2/models/fragile/infer',
      headers: user,
      payload: spiralInput,
    });
    assert.equal(infer.statusCode, 404);
    const ready = await app.inject({ url: '/health/ready' });
    assert.equal(ready.statusCode, 200, 'an uploaded model never takes the replica out of service');
  });
});
