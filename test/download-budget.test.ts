// The budget of job artifacts being sent at once (DOWNLOAD_BUDGET_BYTES), over real sockets: an artifact is
// read whole and held until its client has taken it all, so a client that asks for a large one and reads
// nothing holds its size; past the budget the next download gets 503 problem+json with Retry-After before
// the artifact is read (one alone is always served), other routes go on, and the budget comes back when the
// holder's connection closes.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { listen, startApp, stopApp } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

/** 20 000 images of 28×28 bytes (and the .npy header): far more than loopback's socket buffers take unread. */
const IMAGES = 20_000;

/** Asks for `path` and, once the answer starts, reads no more of it. */
async function unreadDownload(base: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {
    // Destroyed by the test.
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  await new Promise<void>((resolve) =>
    socket.once('data', () => {
      socket.pause();
      resolve();
    }),
  );
  return socket;
}

describe('download budget', () => {
  let app: FastifyInstance;
  let base: string;
  let artifact: string;
  let bytes: number;

  before(async () => {
    // Half the artifact: one download alone is served all the same, a second at once is not.
    app = await startApp({ DOWNLOAD_BUDGET_BYTES: String((IMAGES * 28 * 28) / 2) });
    base = await listen(app);
    const submitted = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'meanflow.generate', params: { n: IMAGES, steps: 1 }, seed: 5 }),
    });
    assert.equal(submitted.status, 202);
    const { id } = await submitted.json();
    await waitFor(
      'the job',
      async () => (await (await fetch(`${base}/v1/jobs/${id}`)).json()).state === 'completed',
    );
    artifact = `/v1/jobs/${id}/artifacts/samples.npy`;
    bytes = (await (await fetch(base + artifact)).arrayBuffer()).byteLength;
    assert.ok(bytes > IMAGES * 28 * 28);
  });
  after(() => stopApp(app));

  it('serves one download larger than the budget, refuses a second while it is held, serves it once it is gone', async () => {
    const held = await unreadDownload(base, artifact);
    const refused = await fetch(base + artifact);
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(refused.headers.get('retry-after'), '1');
    const problem = await refused.json();
    assert.equal(problem.type, 'urn:meanserve:problem:overloaded');
    assert.match(problem.detail, /DOWNLOAD_BUDGET_BYTES/);
    assert.equal((await fetch(`${base}/health/live`)).status, 200);

    held.destroy();
    const served = await waitFor('the budget to come back', async () => {
      const reply = await fetch(base + artifact);
      if (reply.status === 200) return reply;
      await reply.arrayBuffer();
      return undefined;
    });
    assert.equal((await served.arrayBuffer()).byteLength, bytes);
  });
});
