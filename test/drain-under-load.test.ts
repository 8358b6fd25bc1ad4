// SIGTERM under load, on the real server process with API keys: every request in flight completes with 200,
// a request that arrives on an open connection after the signal gets 503 with Connection: close, new
// connections are refused, and the process exits 0 well within SHUTDOWN_TIMEOUT_MS. The request log names
// the key, never the key itself.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const KEY = 'drain-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };
const SHUTDOWN_TIMEOUT_MS = 20_000;

const slowInference = (steps: number, rows = 1) =>
  JSON.stringify({
    inputs: [
      { name: 'x', shape: [rows, 8], datatype: 'FP32', data: new Array(rows * 8).fill(0.5) },
      { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
    ],
  });

describe('SIGTERM under load', () => {
  let server: Child;
  let base: string;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-drain-'));
    for (const name of ['REDIS_URL', 'MODELS_DIR', 'ORT_EXECUTION_PROVIDERS']) delete process.env[name];
    server = startEntry('src/server/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      API_KEYS: `loadtest:${KEY}`,
      INFERENCE_THREADS: '1',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    const [, address] = await waitForOutput(server, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    base = address as string;
    await waitFor('readiness', async () => (await fetch(`${base}/health/ready`)).status === 200);
  });
  after(async () => {
    await kill(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes requests in flight, answers 503 to new ones and exits 0 before the deadline', async () => {
    const { port } = new URL(base);
    // One connection carries a slow request now and a second one once the server is draining: a busy
    // connection stays open through the drain, so the second request reaches the server and is refused.
    const socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk) => {
      raw += chunk;
    });
    const socketClosed = new Promise((resolve) => socket.on('close', resolve));
    const slow = slowInference(1_000_000, 64);
    socket.write(
      `POST /v2/models/iterated-map/infer HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(slow)}\r\n\r\n${slow}`,
    );
    // And a load of concurrent requests, each on its own connection.
    const load = Array.from({ length: 6 }, () =>
      fetch(`${base}/v2/models/iterated-map/infer`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: slowInference(400_000),
      }).then(async (response) => ({ status: response.status, body: await response.json() })),
    );
    await waitFor('the load to be in flight', async () => {
      const metrics = await (await fetch(`${base}/metrics`, { headers: AUTH })).text();
      const depth = Number(/meanserve_inference_queue_depth (\d+)/.exec(metrics)?.[1] ?? 0);
      return depth >= 7;
    });
    const signalled = Date.now();
    server.process.kill('SIGTERM');
    await waitForOutput(server, /shutting down/);
    socket.write(`GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\n\r\n`);

    // New connections: refused (or, at worst, answered 503) — never served.
    const late = await fetch(`${base}/v1/models`, { headers: AUTH }).then(
      (response) => response.status,
      () => 'refused',
    );
    assert.ok(late === 'refused' || late === 503, `a new request got ${late}`);

    const answered = await Promise.all(load);
    for (const { status, body } of answered) {
      assert.equal(status, 200);
      assert.equal(body.outputs[0].shape.join('x'), '1x8');
    }
    assert.equal(await server.exited, 0);
    const elapsed = Date.now() - signalled;
    assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS, `exited ${elapsed} ms after SIGTERM`);
    await socketClosed;
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
    assert.deepEqual(statuses, [200, 503], raw.slice(0, 500));
    assert.match(raw.split('HTTP/1.1 503')[1] ?? '', /connection: close/i);
    assert.match(server.output(), /shut down cleanly/);
    assert.match(server.output(), /"key":"loadtest"/);
    assert.ok(!server.output().includes(KEY), 'the key never reaches the log');
  });
});
