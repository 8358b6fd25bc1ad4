// Requests Node cannot read as HTTP/1.1, over a raw socket: they were answered with Fastify's own
// `{"error":"Bad Request","message":"Client Error"}`; now with problem+json naming the parser's reason,
// and the connection closed.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { listen, stopApp, testConfig } from './helpers/app.js';

/** Writes `request` and reads until the server closes the connection. */
async function exchange(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  socket.on('error', () => {});
  socket.write(request);
  await new Promise((resolve) => socket.once('close', resolve));
  return received;
}

describe('requests that are not valid HTTP/1.1', () => {
  let app: FastifyInstance;
  let port: number;
  before(async () => {
    app = await buildApp(await testConfig(), { loadModels: false });
    port = Number(new URL(await listen(app)).port);
  });
  after(() => stopApp(app));

  for (const [what, request, status, detail] of [
    [
      'Transfer-Encoding beside Content-Length (a smuggling attempt)',
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      400,
      /not valid HTTP\/1\.1: .*Content-Length.*Transfer-Encoding.* \(HPE_/,
    ],
    [
      'a header line without a colon',
      'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
      /\(HPE_/,
    ],
    [
      'headers over 16 KiB',
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /over 16 KiB/,
    ],
  ] as const) {
    it(`answers ${what} with ${status} problem+json and closes the connection`, async () => {
      const answer = await exchange(port, request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1.1 ${status} `));
      assert.match(head, /\r\nContent-Type: application\/problem\+json\r\n/);
      assert.match(head, /\r\nConnection: close/);
      const problem = JSON.parse(body);
      assert.equal(problem.status, status);
      assert.match(problem.type, /^urn:meanserve:problem:/);
      assert.match(problem.detail, detail);
    });
  }

  it('serves the next connection', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/health/live`)).status, 200);
  });
});
