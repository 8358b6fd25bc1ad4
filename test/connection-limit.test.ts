// Client connections within the open-file limit. Unbounded, 20 000 idle sockets of one anonymous client took
// every descriptor of a server at `ulimit -n` 20 000: it answered nobody and its own file operations failed
// on EMFILE until the sockets timed out. Now MAX_CONNECTIONS (by default the limit less a reserve) closes
// the connections past it as they arrive, and the server goes on serving the ones it holds, files included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, MIN_OPEN_FILES, RESERVED_FILE_DESCRIPTORS } from '../src/config.js';
import { openFileLimit } from '../src/lib/open-file-limit.js';
import { type Child, kill, startEntry, waitForOutput } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

describe('MAX_CONNECTIONS from the open-file limit', () => {
  it('defaults to the limit less the reserve, takes a lower setting and refuses one past the reserve', () => {
    assert.equal(loadConfig({}, { openFiles: 20_000 }).maxConnections, 20_000 - RESERVED_FILE_DESCRIPTORS);
    assert.equal(loadConfig({ MAX_CONNECTIONS: '100' }, { openFiles: 20_000 }).maxConnections, 100);
    assert.throws(
      () => loadConfig({ MAX_CONNECTIONS: '19800' }, { openFiles: 20_000 }),
      (error: Error) =>
        error instanceof ConfigError && /MAX_CONNECTIONS \(19800\).*set at most 19744/.test(error.message),
    );
    // No /proc (macOS): no limit unless one is set.
    assert.equal(loadConfig({}, { openFiles: undefined }).maxConnections, undefined);
    assert.equal(loadConfig({ MAX_CONNECTIONS: '5000' }, { openFiles: undefined }).maxConnections, 5000);
  });

  it(`refuses to start under an open-file limit below ${MIN_OPEN_FILES}, naming it`, () => {
    assert.throws(
      () => loadConfig({}, { openFiles: 256 }),
      (error: Error) =>
        error instanceof ConfigError && /ulimit -n\) is 256.*at least 512/.test(error.message),
    );
  });

  it("reads the limit a process runs under from /proc (a child's, set by prlimit)", async () => {
    const child = spawn('prlimit', ['--nofile=700:700', 'sleep', '30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      await waitFor('prlimit to exec sleep', async () => openFileLimit(`/proc/${child.pid}/limits`) === 700);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(openFileLimit('/nonexistent/limits'), undefined);
  });
});

describe('the server process under an open-file limit of 600 (344 connections)', () => {
  const OPEN_FILES = 600;
  const maxConnections = OPEN_FILES - RESERVED_FILE_DESCRIPTORS;
  let server: Child;
  let base: string;
  let dataDir: string;
  // The client that came first: one kept-alive socket, held through the flood.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const flood: net.Socket[] = [];

  /**
   * A request on the first client's socket, or on a new one (node:http: undici's fetch, whose new connection
   * was closed unanswered, neither answered nor failed).
   */
  function call(
    method: string,
    path: string,
    body?: unknown,
    on: http.Agent | false = agent,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(`${base}${path}`, {
        method,
        agent: on,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode as number, text }));
      });
      request.on('error', reject);
      request.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-connections-'));
    server = startEntry(
      'src/server/main.ts',
      { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir },
      OPEN_FILES,
    );
    const [, address] = await waitForOutput(
      server,
      /Server listening at (http:\/\/127\.0\.0\.1:\d+)/,
      60_000,
    );
    base = address as string;
    await waitFor('readiness', async () => (await call('GET', '/health/ready')).status === 200, 60_000);
  });
  after(async () => {
    for (const socket of flood) socket.destroy();
    agent.destroy();
    await kill(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('closes the connections past the limit as they arrive and serves the ones it holds, files included', async () => {
    const sockets = 500;
    let closed = 0;
    for (let i = 0; i < sockets; i++) {
      const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => {
        closed += 1;
      });
      flood.push(socket);
    }
    const expectedDropped = sockets - (maxConnections - 1);
    await waitFor('the connections past the limit to be closed', async () => closed >= expectedDropped);

    // The first client's socket still gets answers, and the server still opens and writes its files.
    assert.equal((await call('GET', '/health/ready')).status, 200);
    const created = await call('POST', '/v1/collections', { name: 'during-the-flood', dim: 4 });
    assert.equal(created.status, 201, created.text);
    const upserted = await call('PUT', '/v1/collections/during-the-flood/points', {
      points: [{ id: 'a', vector: [1, 0, 0, 0] }],
    });
    assert.equal(upserted.status, 200, upserted.text);
    const metrics = (await call('GET', '/metrics')).text;
    assert.match(metrics, new RegExp(`meanserve_http_connections_open ${maxConnections}\\b`));
    assert.match(metrics, new RegExp(`meanserve_http_connections_dropped_total ${expectedDropped}\\b`));
    assert.equal(closed, expectedDropped, 'the held connections stay open');
    await waitForOutput(server, /MAX_CONNECTIONS connections are open: new ones are closed as they arrive/);
    assert.equal(
      server.output().match(/MAX_CONNECTIONS connections are open/g)?.length,
      1,
      'one warning a minute',
    );

    // A newcomer is turned away while the flood holds the rest, and served once it has gone.
    await assert.rejects(call('GET', '/health/live', undefined, false), { code: 'ECONNRESET' });
    for (const socket of flood) socket.destroy();
    await waitFor('a new connection to be served', async () => {
      const response = await call('GET', '/v1/collections/during-the-flood', undefined, false).catch(
        () => undefined,
      );
      return response?.status === 200;
    });
    assert.doesNotMatch(server.output(), /EMFILE/);
  });

  it(`does not start under a limit below ${MIN_OPEN_FILES}: it says which and exits 1`, async () => {
    const starved = startEntry(
      'src/server/main.ts',
      { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir },
      400,
    );
    assert.equal(await starved.exited, 1);
    assert.match(starved.output(), /the open-file limit \(ulimit -n\) is 400; meanserve needs at least 512/);
  });
});
