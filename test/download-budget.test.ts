// The budget of large answers being sent at once (DOWNLOAD_BUDGET_BYTES), over real sockets: a job artifact is
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

/** Sends `request` (an HTTP/1.1 request's text) and, once the answer starts, reads no more of it. */
async function unreadAnswer(base: string, request: (host: string) => string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {
    // Destroyed by the test.
  });
  socket.write(request(hostname));
  await new Promise<void>((resolve) =>
    socket.once('data', () => {
      socket.pause();
      resolve();
    }),
  );
  return socket;
}

const unreadDownload = (base: string, path: string) =>
  unreadAnswer(base, (host) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

/** POSTs `body` as JSON to `path` and reads none of the answer past its start. */
function unreadPost(base: string, path: string, body: unknown): Promise<Socket> {
  const json = JSON.stringify(body);
  return unreadAnswer(
    base,
    (host) =>
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
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

// Any large answer is held the same way: sixty clients that each sent a 50-byte search for 1 000 points with
// 30 KB payloads (a 30 MB answer) and read nothing took the server from 0.6 to 4.3 GB.
describe('the same budget for large answers of other routes', () => {
  let app: FastifyInstance;
  let base: string;
  const MIB = 1024 * 1024;

  before(async () => {
    app = await startApp({ DOWNLOAD_BUDGET_BYTES: String(24 * MIB) });
    base = await listen(app);
    for (const [name, payload] of [
      ['plain', undefined],
      ['payloads', { blob: 'x'.repeat(30_000) }],
    ] as const) {
      const created = await fetch(`${base}/v1/collections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, dim: 2, metric: 'l2', index: { type: 'flat' } }),
      });
      assert.equal(created.status, 201, await created.text());
      for (let batch = 0; batch < 10; batch++) {
        const points = Array.from({ length: 100 }, (_, i) => ({
          // Long ids: a batch of searches for all of them is a 20 MB answer.
          id: `point-${batch}-${i}-${'i'.repeat(40)}`,
          vector: [batch, i],
          ...(payload === undefined ? {} : { payload }),
        }));
        const upserted = await fetch(`${base}/v1/collections/${name}/points`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ points }),
        });
        assert.equal(upserted.status, 200, await upserted.text());
      }
    }
  });
  after(() => stopApp(app));

  const refusedWhileHeld = async (path: string, body: unknown) => {
    const held = await unreadPost(base, path, body);
    const refused = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(
      (await refused.json()).detail,
      /would pass the 25165824-byte budget \(DOWNLOAD_BUDGET_BYTES\)/,
    );
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    held.destroy();
    await waitFor('the budget to come back', async () => {
      const reply = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await reply.arrayBuffer();
      return reply.status === 200;
    });
  };

  it('charges a search with large payloads before its answer is built (30 MB of payloads)', async () => {
    await refusedWhileHeld('/v1/collections/payloads/search', { vector: [0, 0], k: 1000 });
  });

  it('charges any other answer of 1 MiB or more as it is sent (a batch of searches, 20 MB of hits)', async () => {
    const queries = Array.from({ length: 256 }, (_, i) => ({ vector: [i % 10, i], k: 1000 }));
    await refusedWhileHeld('/v1/collections/plain/search/batch', { queries });
  });
});
