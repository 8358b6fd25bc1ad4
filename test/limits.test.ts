// Per-key rate limits (429 with Retry-After, per key and route family, health never limited) and overload
// shedding (503 with Retry-After for new work under heap pressure or a late event loop, health still answers).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../src/config.js';
import { buildApp } from '../src/server/app.js';
import { TokenBuckets } from '../src/server/plugins/rate-limit.js';
import { assertLive, listen, startApp, stopApp, testConfig } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';

async function appWith(env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp(await testConfig(env), { loadModels: false });
  await app.ready();
  return app;
}

describe('rate limits per key', () => {
  let app: FastifyInstance;
  after(() => stopApp(app));

  it('answers 429 problem+json with Retry-After past a key’s limit, per key and per route family', async () => {
    app = await appWith({ API_KEYS: `alice:${ALICE},bob:${BOB}`, RATE_LIMITS: 'read=3,write=1' });
    const as = (key: string, url = '/v1/job-types', method: 'GET' | 'POST' = 'GET') =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(method === 'POST' ? { payload: {} } : {}),
      });
    for (let i = 0; i < 3; i++) {
      const response = await as(ALICE);
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-ratelimit-limit'], '3');
      assert.equal(response.headers['x-ratelimit-remaining'], String(2 - i));
    }
    const limited = await as(ALICE);
    assert.equal(limited.statusCode, 429);
    assert.match(limited.headers['content-type'] as string, /^application\/problem\+json/);
    assert.equal(limited.json().type, 'urn:meanserve:problem:rate-limited');
    // A minute's allowance of 3 refills one token every 20 s.
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 19 && retryAfter <= 20, `Retry-After ${retryAfter}`);
    // Bob has his own allowance; Alice's other families have theirs; health is never limited.
    assert.equal((await as(BOB)).statusCode, 200);
    assert.equal((await as(ALICE, '/v1/jobs', 'POST')).statusCode, 400);
    assert.equal((await as(ALICE, '/v1/jobs', 'POST')).statusCode, 429);
    for (let i = 0; i < 10; i++) assert.equal((await app.inject('/health/live')).statusCode, 200);
    const metrics = await as(BOB, '/metrics');
    assert.match(metrics.body, /meanserve_requests_rejected_total\{reason="rate-limited",key="alice"\} 2/);
  });

  it('refills continuously and evicts the least recently used bucket', () => {
    let now = 0;
    const buckets = new TokenBuckets(2, () => now);
    assert.deepEqual(buckets.take('a', 60), { ok: true, remaining: 59 });
    for (let i = 0; i < 59; i++) buckets.take('a', 60);
    const empty = buckets.take('a', 60);
    assert.equal(empty.ok, false);
    assert.ok(!empty.ok && Math.abs(empty.waitMs - 1000) < 1e-6);
    now = 1000;
    assert.deepEqual(buckets.take('a', 60), { ok: true, remaining: 0 });
    buckets.take('b', 60);
    buckets.take('c', 60); // evicts a
    assert.deepEqual(buckets.take('a', 60), { ok: true, remaining: 59 });
  });

  it('parses RATE_LIMITS and sorts routes into families', async () => {
    assert.deepEqual(loadConfig({ RATE_LIMITS: 'inference=120, write=30' }).security.rateLimits, {
      inference: 120,
      write: 30,
    });
    assert.throws(() => loadConfig({ RATE_LIMITS: 'gpu=3' }), ConfigError);
    assert.throws(() => loadConfig({ RATE_LIMITS: 'read=0' }), ConfigError);
    // Each route declares its family; the OpenAPI document shows it on every protected operation.
    const app = await appWith({});
    const paths = (await app.inject('/openapi.json')).json().paths;
    const familyOf = (method: string, path: string) => paths[path][method]['x-meanserve-family'];
    assert.equal(familyOf('post', '/v2/models/{name}/infer'), 'inference');
    assert.equal(familyOf('post', '/v1/collections/{name}/search'), 'inference');
    assert.equal(familyOf('get', '/v1/meanflow/grid.png'), 'inference');
    assert.equal(familyOf('post', '/v1/jobs'), 'write');
    assert.equal(familyOf('delete', '/v1/jobs/{id}'), 'write');
    assert.equal(familyOf('get', '/v1/jobs/{id}'), 'read');
    assert.equal(familyOf('get', '/health/live'), undefined, 'open routes have none');
    await stopApp(app);
  });
});

describe('overload shedding', () => {
  let app: FastifyInstance | undefined;
  after(() => stopApp(app));

  it('refuses new work with 503 and Retry-After under heap pressure, while health and metrics answer', async () => {
    app = await appWith({ SHED_HEAP_USED_PERCENT: '1' });
    const refused = await app.inject('/v1/job-types');
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '2');
    assert.equal(refused.json().type, 'urn:meanserve:problem:overloaded');
    assert.match(refused.json().detail, /heap/);
    for (const url of ['/health/live', '/v2/health/live', '/metrics', '/openapi.json', '/docs/']) {
      assert.equal((await app.inject(url)).statusCode, 200, url);
    }
    await stopApp(app);
    app = undefined;
  });

  it('refuses new work while the event loop stays late, and takes it again once it recovers', async () => {
    app = await appWith({ SHED_EVENT_LOOP_DELAY_MS: '40', SHED_HEAP_USED_PERCENT: '0' });
    const target = app;
    assert.equal((await target.inject('/v1/job-types')).statusCode, 200);
    // Blocks the loop for 80 ms out of every 100 until stopped.
    const busy = setInterval(() => {
      const until = performance.now() + 80;
      while (performance.now() < until);
    }, 20);
    try {
      const refused = await waitFor(
        'a 503',
        async () => {
          const response = await target.inject('/v1/job-types');
          return response.statusCode === 503 ? response : undefined;
        },
        10_000,
      );
      assert.match(refused.json().detail, /event loop is \d+ ms late/);
      assert.equal((await target.inject('/health/live')).statusCode, 200);
    } finally {
      clearInterval(busy);
    }
    await waitFor(
      'work accepted again',
      async () => (await target.inject('/v1/job-types')).statusCode === 200,
    );
    await assertLive(target);
  });
});

describe('bounded job queues', () => {
  let app: FastifyInstance;
  after(() => stopApp(app));

  it('refuses a submission with 503 problem+json once JOB_QUEUE_LIMIT jobs of its type wait', async () => {
    app = await startApp({ JOB_QUEUE_LIMIT: '1', JOB_CONCURRENCY: '1' });
    const slow = {
      inputs: [
        { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.1) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [300_000] },
      ],
    };
    const submit = () =>
      app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: {
          type: 'onnx.batch-infer',
          params: { model: 'iterated-map', requests: Array.from({ length: 20 }, () => slow) },
        },
      });
    const running = (await submit()).json();
    await waitFor('the first job to run', async () => {
      const job = (await app.inject(`/v1/jobs/${running.id}`)).json();
      return job.state === 'running';
    });
    const queued = await submit();
    assert.equal(queued.statusCode, 202);
    const refused = await submit();
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().type, 'urn:meanserve:problem:overloaded');
    assert.match(refused.json().detail, /1 onnx.batch-infer jobs are waiting \(limit 1\)/);
    assert.equal(refused.headers['retry-after'], '5');
    for (const id of [running.id, queued.json().id])
      await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    await assertLive(app);
  });

  it('holds the limit for submissions that arrive together', async () => {
    await stopApp(app);
    app = await startApp({ JOB_QUEUE_LIMIT: '3', JOB_CONCURRENCY: '1' });
    const long = (seed: number) => ({
      type: 'minimax.mfl',
      seed,
      params: {
        objective: { name: 'mm1d' },
        algorithm: { name: 'mfl-da' },
        particles: 2000,
        steps: 50_000,
        h: 0.05,
        lambda: 0.1,
        report_every: 100,
      },
    });
    // Each counted the queue before any was added: all 20 were queued under a limit of 3.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, seed) =>
        app.inject({ method: 'POST', url: '/v1/jobs', payload: long(seed) }),
      ),
    );
    const accepted = answers.filter((answer) => answer.statusCode === 202);
    assert.ok(accepted.length >= 1 && accepted.length <= 4, `${accepted.length} accepted`);
    assert.ok(answers.every((answer) => answer.statusCode === 202 || answer.statusCode === 503));
    const queued = (await app.inject('/v1/jobs?state=queued&type=minimax.mfl')).json().data;
    assert.ok(queued.length <= 3, `${queued.length} queued`);
    for (const answer of accepted)
      await app.inject({ method: 'DELETE', url: `/v1/jobs/${answer.json().id}` });
    await assertLive(app);
  });
});

describe('deadlines', () => {
  let app: FastifyInstance;
  after(() => stopApp(app));

  it('answers 503 deadline-exceeded when a handler outlives its route family’s deadline, over a socket too', async () => {
    app = await startApp({ DEADLINES: 'inference=100' });
    assert.deepEqual(app.config.security.deadlines, { inference: 100, write: 120_000, read: 30_000 });
    const base = await listen(app);
    // The most work one request may ask of iterated-map (100 rows × 10⁶ steps): a few seconds.
    const slow = JSON.stringify({
      inputs: [
        { name: 'x', shape: [100, 8], datatype: 'FP32', data: new Array(800).fill(0.5) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [1_000_000] },
      ],
    });
    // A real socket: on Node 20 a request with a body emits 'close' once the body is read, which is what
    // defeats Fastify's handlerTimeout; app.inject would not show it.
    const started = Date.now();
    const response = await fetch(`${base}/v2/models/iterated-map/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: slow,
    });
    const elapsed = Date.now() - started;
    assert.equal(response.status, 503);
    assert.ok(elapsed < 2000, `answered after ${elapsed} ms`);
    assert.equal(response.headers.get('retry-after'), '1');
    const body = await response.json();
    assert.equal(body.type, 'urn:meanserve:problem:deadline-exceeded');
    assert.match(body.detail, /deadline of 100 ms/);
    // Other families keep theirs; a quick inference fits in 100 ms once the slow one left the thread.
    assert.equal((await app.inject('/v1/models')).statusCode, 200);
    await waitFor('the slow inference to finish', async () => app.models.queueDepth() === 0);
    const quick = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] },
    });
    assert.equal(quick.statusCode, 200);
    assert.throws(() => loadConfig({ DEADLINES: 'inference=0' }), ConfigError);
    await assertLive(app);
  });
});

// Behind a reverse proxy every connection comes from the proxy: without TRUST_PROXY all clients without
// keys share its one bucket (and its address in the logs). Naming the proxy makes the address it reports
// count; a proxy not named, or none, is not believed, so a client cannot choose its own bucket.
describe('clients behind a reverse proxy (TRUST_PROXY)', () => {
  const apps: FastifyInstance[] = [];
  after(() => Promise.all(apps.map((app) => stopApp(app))));

  /** The answers to GETs that claim to come from each of `clients` (inject connects from 127.0.0.1). */
  const statuses = async (env: Record<string, string>, clients: string[]) => {
    const app = await appWith({ RATE_LIMITS: 'read=2', ...env });
    apps.push(app);
    const codes: number[] = [];
    for (const client of clients) {
      const response = await app.inject({ url: '/v1/job-types', headers: { 'x-forwarded-for': client } });
      codes.push(response.statusCode);
    }
    return codes;
  };
  const clients = ['203.0.113.7', '203.0.113.7', '203.0.113.7', '198.51.100.9', '2001:db8::1'];

  it('gives each client the proxy names its own allowance, and believes no one else', async () => {
    for (const trust of ['127.0.0.1', 'loopback', '127.0.0.0/8', '1']) {
      assert.deepEqual(await statuses({ TRUST_PROXY: trust }, clients), [200, 200, 429, 200, 200], trust);
    }
    // Not named (or no proxy named): the header changes nothing, every request is the connection's.
    for (const env of [{}, { TRUST_PROXY: '10.0.0.0/8' }] as Record<string, string>[]) {
      assert.deepEqual(await statuses(env, clients), [200, 200, 429, 429, 429], JSON.stringify(env));
    }
  });

  it('parses TRUST_PROXY: addresses, ranges, named ranges or a count; trusting every sender is refused', () => {
    const trust = (raw?: string) =>
      loadConfig(raw === undefined ? {} : { TRUST_PROXY: raw }).security.trustProxy;
    assert.deepEqual(trust(), []);
    assert.deepEqual(trust(' 10.0.0.0/8, 127.0.0.1 ,::1,fd00::/8,Loopback'), [
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
    assert.equal(trust('2'), 2);
    for (const bad of [
      'true',
      '*',
      '0',
      '17',
      '10.0.0.0/33',
      '::1/129',
      'proxy.example.com',
      '1.2.3.4/8/9',
      '10.0.0.1,',
    ]) {
      assert.throws(() => trust(bad), ConfigError, bad);
    }
  });
});
