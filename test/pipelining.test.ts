// HTTP/1.1 pipelining over real sockets. Node hands every request a connection has sent to its handler at
// once; one client that pipelined GET /v1/jobs 285 000 times and read nothing had them all in flight (RSS
// 0.36 → 2.5 GB, /health/live unanswered). Past MAX_PIPELINED_REQUESTS in flight on one connection a
// request is answered 503 without being run, in order, and Node stops reading the connection.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { listen, stopApp, testConfig } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const LIMIT = 16;
const LIST = 'GET /v1/jobs HTTP/1.1\r\nHost: test\r\n\r\n';

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** Reads answers off a socket, in order (every answer here has a content-length). */
function answers(socket: Socket): { received: Answer[] } {
  const state = { received: [] as Answer[] };
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      state.received.push({
        status: Number(head.slice(9, 12)),
        contentType: /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
        body: buffer.subarray(end + 4, end + 4 + length).toString('utf8'),
      });
      buffer = buffer.subarray(end + 4 + length);
    }
  });
  return state;
}

describe('pipelined requests on one connection', () => {
  let app: FastifyInstance;
  let base: string;
  let port: number;
  before(async () => {
    app = await buildApp(await testConfig(), { loadModels: false });
    base = await listen(app);
    port = Number(new URL(base).port);
  });
  after(() => stopApp(app));

  async function open(): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    return socket;
  }

  it(`runs ${LIMIT} at once and answers the rest 503 without running them, in order, the connection kept`, async () => {
    const socket = await open();
    const read = answers(socket);
    // One write: the server parses all 40 before any handler has answered.
    socket.write(LIST.repeat(40));
    await waitFor('40 answers', async () => read.received.length === 40);
    assert.deepEqual(
      read.received.map((answer) => answer.status),
      [...Array(LIMIT).fill(200), ...Array(40 - LIMIT).fill(503)],
    );
    const refused = read.received[LIMIT] as Answer;
    assert.equal(refused.contentType, 'application/problem+json; charset=utf-8');
    const problem = JSON.parse(refused.body);
    assert.equal(problem.type, 'urn:meanserve:problem:overloaded');
    assert.match(problem.detail, /16 requests are already in flight on this connection \(pipelined\)/);
    // Answered, they are no longer in flight: the connection takes requests again.
    socket.write(LIST);
    await waitFor('the next answer', async () => read.received.length === 41);
    assert.equal(read.received[40]?.status, 200);
    socket.destroy();
  });

  it('stops reading a connection that pipelines without reading answers, and serves the others meanwhile', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const flood = await open();
    flood.on('error', () => {});
    // Up to 500 000 requests (the kernel holds the first ~100 000 whatever the server does), written as fast
    // as they are taken; none of the answers is read.
    const chunk = LIST.repeat(1000);
    let written = 0;
    let stalled = false;
    const writing = (async () => {
      while (written < 500_000 && !flood.destroyed) {
        written += 1000;
        if (!flood.write(chunk)) {
          const drained = await Promise.race([
            new Promise((resolve) => flood.once('drain', () => resolve(true))),
            new Promise((resolve) => setTimeout(resolve, 2000, false)),
          ]);
          if (!drained) {
            stalled = true;
            return;
          }
        }
      }
    })();
    for (let probe = 0; probe < 5; probe++) {
      assert.equal((await fetch(`${base}/health/live`)).status, 200);
    }
    await writing;
    assert.ok(stalled, `the server read all ${written} requests of a client that reads nothing`);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 256 * 1024 * 1024, `the heap grew ${Math.round(heapGrowth / 2 ** 20)} MiB`);
    flood.destroy();
    assert.equal((await fetch(`${base}/v1/jobs`)).status, 200);
  });
});
