// `npm start` as a process: with no configuration beyond a port it serves readiness, docs, OIP inference and
// a batch job with its artifact; on SIGTERM it finishes the request in flight, refuses new work, exits 0.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

describe('the server process (npm start)', () => {
  let server: Child;
  let base: string;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-process-'));
    // Only what a test machine needs: a free port on loopback and a private data directory. No REDIS_URL.
    const env = { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir };
    for (const name of ['REDIS_URL', 'MODELS_DIR', 'ORT_EXECUTION_PROVIDERS']) delete process.env[name];
    server = startEntry('src/server/main.ts', env);
    const [, address] = await waitForOutput(server, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    base = address as string;
    await waitFor('readiness', async () => (await fetch(`${base}/health/ready`)).status === 200);
  });
  after(async () => {
    await kill(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the docs, the OpenAPI document and inference', async () => {
    assert.equal((await fetch(`${base}/docs/`)).status, 200);
    const openapi = await (await fetch(`${base}/openapi.json`)).json();
    assert.equal(openapi.openapi, '3.1.0');
    const infer = await fetch(`${base}/v2/models/spiral-mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] }),
    });
    assert.equal(infer.status, 200);
  });

  it('runs an onnx.batch-infer job inline to completion with its artifact', async () => {
    const submitted = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'onnx.batch-infer',
        params: {
          model: 'spiral-mlp',
          requests: [{ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] }],
        },
      }),
    });
    assert.equal(submitted.status, 202);
    const { id } = await submitted.json();
    const done = await waitFor('the job', async () => {
      const job = await (await fetch(`${base}/v1/jobs/${id}`)).json();
      return job.state === 'completed' ? job : undefined;
    });
    const artifact = await fetch(`${base}${done.links.artifacts[0]}`);
    assert.equal(artifact.status, 200);
    assert.equal((await artifact.json()).length, 1);
  });

  it('drains on SIGTERM: the request in flight completes, then the process exits 0', async () => {
    const inFlight = fetch(`${base}/v2/models/iterated-map/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'x', shape: [64, 8], datatype: 'FP32', data: new Array(64 * 8).fill(0.5) },
          { name: 'steps', shape: [1], datatype: 'INT64', data: [1_000_000] },
        ],
      }),
    });
    await waitFor('the inference to be in flight', async () =>
      /meanserve_inference_queue_depth 1/.test(await (await fetch(`${base}/metrics`)).text()),
    );
    server.process.kill('SIGTERM');
    await waitForOutput(server, /shutting down/);
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal((await response.json()).outputs[0].shape.join('x'), '64x8');
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /shut down cleanly/);
    await assert.rejects(fetch(`${base}/health/live`), 'the listener is closed');
  });
});
