// The budget of large answers being sent at once (DOWNLOAD_BUDGET_BYTES), over real sockets: a job artifact is
// read whole and held until its client has taken it all, so a client that asks for a large one and reads
// nothing holds its size; past the budget the next download gets 503 problem+json with Retry-After before
// the artifact is read (one alone is always served), other routes go on, and the budget comes back when the
// holder's connection closes.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_DECODERS, listen, startApp, stopApp } from './helpers/app.js';
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

/** An answer read off a raw socket: its chunked body once the client chose to read it. */
interface HeldAnswer {
  socket: Socket;
  /** Reads the rest of the answer and gives its body, the chunked framing taken off. */
  readAll(): Promise<string>;
}

/** POSTs `body` to `path` and, once the answer starts, reads no more until readAll. */
async function heldPost(base: string, path: string, body: unknown): Promise<HeldAnswer> {
  const { hostname, port } = new URL(base);
  const json = JSON.stringify(body);
  const socket = connect(Number(port), hostname);
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  const readAll = async () => {
    socket.resume();
    const text = () => Buffer.concat(received).toString('latin1');
    await waitFor('the whole answer', async () => text().endsWith('\r\n0\r\n\r\n'));
    const raw = text();
    let at = raw.indexOf('\r\n\r\n') + 4;
    let out = '';
    for (;;) {
      const end = raw.indexOf('\r\n', at);
      const size = Number.parseInt(raw.slice(at, end), 16);
      if (size === 0) return Buffer.from(out, 'latin1').toString('utf8');
      out += raw.slice(end + 2, end + 2 + size);
      at = end + 2 + size + 2;
    }
  };
  return { socket, readAll };
}

// A streamed completion is never held whole: what waits is what its client has not read yet, charged to the
// same budget as it changes. A client that asks for a 4.6 MB stream and reads nothing cannot pile it up
// next to others: past the budget its stream stops — generation too — and ends with an `overloaded` event.
describe('streamed completions under the download budget', () => {
  let app: FastifyInstance;
  let base: string;
  // 128 prompts, 83 tokens each (<eos> banned), logprobs: about 4.6 MB of events.
  const body = {
    prompt: Array.from({ length: 128 }, (_, i) => `Q:${1000 + i}+${2000 + i}=`),
    max_tokens: 83,
    logit_bias: { '2': -100 },
    logprobs: 5,
    stream: true,
    seed: 1,
  };
  const events = (text: string) =>
    text
      .split('\n\n')
      .filter((event) => event.startsWith('data: '))
      .map((event) => event.slice('data: '.length));

  before(async () => {
    app = await startApp({ ...DEFAULT_DECODERS, DOWNLOAD_BUDGET_BYTES: String(64 * 1024) });
    base = await listen(app);
  });
  after(() => stopApp(app));

  it('serves one stream alone whole, however little its client reads', async () => {
    const alone = await heldPost(base, '/v1/completions', body);
    const read = events(await alone.readAll());
    alone.socket.destroy();
    assert.equal(read.at(-1), '[DONE]');
    assert.ok(read.length > 128 * 83, `${read.length} events`);
  });

  it('stops the streams of clients that read nothing once together they pass the budget', async () => {
    const rejected = () => app.metrics.registry.getSingleMetric('meanserve_requests_rejected_total')?.get();
    const held = await Promise.all([1, 2, 3].map(() => heldPost(base, '/v1/completions', body)));
    // A client that reads as the events come holds nothing unread: served in full beside them.
    const reading = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(events(await reading.text()).at(-1), '[DONE]');
    // Each stream alone would be served; together they cannot all be.
    const answers = [];
    for (const answer of held) {
      answers.push(events(await answer.readAll()));
      answer.socket.destroy();
    }
    const stopped = answers.filter((read) => read.at(-1) !== '[DONE]');
    assert.ok(stopped.length >= 1, 'a stream was stopped');
    for (const read of stopped) {
      const last = JSON.parse(read.at(-1) as string);
      assert.equal(last.error.code, 'overloaded');
      assert.equal(last.error.type, 'server_error');
      assert.match(last.error.message, /waiting for the client to read them .*DOWNLOAD_BUDGET_BYTES/);
      // What came before is whole chunks of the completion; nothing after the error.
      for (const chunk of read.slice(0, -1)) assert.equal(JSON.parse(chunk).object, 'text_completion');
      assert.ok(read.length < 128 * 83, 'generation stopped early');
    }
    const overloaded = (await rejected())?.values.find((v) => v.labels.reason === 'overloaded');
    assert.ok((overloaded?.value ?? 0) >= stopped.length);
  });
});
