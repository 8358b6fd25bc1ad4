// Rate limits shared through Redis: two API processes on one Redis prefix draw on one bucket
// per key and route family, so a key gets its limit once, not once per replica. When Redis is unreachable or
// never answers, each process counts on its own: limits still hold, and no request waits or fails on Redis.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.js';
import { stopApp, testConfig } from './helpers/app.js';
import { type ApiReplica, startApiReplica, stopApiReplicas } from './helpers/processes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const KEY = 'shared-limit-key-0123456789';
const LIMIT = 6;

async function replica(env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp(
    await testConfig({ API_KEYS: `alice:${KEY}`, RATE_LIMITS: `read=${LIMIT}`, ...env }),
    { loadModels: false },
  );
  await app.ready();
  return app;
}

const read = (app: FastifyInstance) =>
  app.inject({ url: '/v1/job-types', headers: { authorization: `Bearer ${KEY}` } });

describe('rate limits in Redis, two API processes', () => {
  const prefix = uniquePrefix();
  const replicas: ApiReplica[] = [];
  const bases: string[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const replica = await startApiReplica({
        REDIS_URL,
        REDIS_PREFIX: prefix,
        API_KEYS: `alice:${KEY}`,
        RATE_LIMITS: `read=${LIMIT}`,
      });
      replicas.push(replica);
      bases.push(replica.base);
    }
  });
  after(async () => {
    await stopApiReplicas(replicas);
    await deleteKeys(prefix);
  });

  it('counts one bucket per key across replicas: the limit is reached once, whichever replica answers', async () => {
    const get = (base: string) =>
      fetch(`${base}/v1/job-types`, { headers: { authorization: `Bearer ${KEY}` } });
    const remaining: string[] = [];
    for (let request = 0; request < LIMIT; request++) {
      const response = await get(bases[request % 2] as string);
      assert.equal(response.status, 200, await response.text());
      remaining.push(String(response.headers.get('x-ratelimit-remaining')));
    }
    assert.deepEqual(remaining, ['5', '4', '3', '2', '1', '0']);
    for (const base of bases) {
      const refused = await get(base);
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { type: string }).type, 'urn:meanserve:problem:rate-limited');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    }
  });
});

describe('rate limits when Redis does not answer', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let unreachable: FastifyInstance;
  let stalled: FastifyInstance;
  before(async () => {
    // Accepts connections and never answers: every command would wait forever without a timeout.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    unreachable = await replica({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: uniquePrefix() });
    stalled = await replica({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: uniquePrefix() });
  });
  after(async () => {
    await stopApp(unreachable);
    await stopApp(stalled);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  for (const [name, app] of [
    ['unreachable', () => unreachable],
    ['connected but silent', () => stalled],
  ] as const) {
    it(`Redis ${name}: the process counts on its own, and no request fails or hangs`, async () => {
      const started = performance.now();
      for (let request = 0; request < LIMIT; request++) {
        assert.equal((await read(app())).statusCode, 200);
      }
      assert.equal((await read(app())).statusCode, 429);
      // Seven requests, each waiting at most the 250 ms command timeout.
      assert.ok(performance.now() - started < 7 * 1000, 'no request waited on Redis for long');
    });
  }
});
