// Two API processes (the real entry point) on one PostgreSQL and one Redis behave as one service: a
// collection created and filled through replica A is searched through replica B with min_sequence, a
// deletion through B is seen by A, a search racing a deletion answers 200 or 404 and nothing else, a
// key's rate limit is counted once across both, and a replica killed with SIGKILL in the middle of an
// upsert leaves the collection as it was. Beside them, an in-process app whose PostgreSQL is unreachable
// says so in /health/ready and answers collection routes with 503.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startApp, stopApp } from './helpers/app.js';
import { createDatabase, query, type TestDatabase } from './helpers/postgres.js';
import { type ApiReplica, kill, startApiReplica, stopApiReplicas } from './helpers/processes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const READ_LIMIT = 6;

describe('collections on two API replicas sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  const prefix = uniquePrefix();
  const replicas: ApiReplica[] = [];
  let a: string;
  let b: string;

  const call = async (base: string, method: string, path: string, body?: object, key = ALICE) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  };

  before(async () => {
    database = await createDatabase();
    for (let i = 0; i < 2; i++) {
      const replica = await startApiReplica({
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_PREFIX: prefix,
        API_KEYS: `alice:${ALICE},bob:${BOB}`,
        RATE_LIMITS: `read=${READ_LIMIT}`,
      });
      replicas.push(replica);
      await waitFor(
        `replica ${i} to be ready`,
        async () => (await fetch(`${replica.base}/health/ready`)).status === 200,
        60_000,
        100,
      );
    }
    [a, b] = replicas.map((replica) => replica.base) as [string, string];
  });
  after(async () => {
    await stopApiReplicas(replicas);
    await deleteKeys(prefix);
    await database.drop();
  });

  it('create and upsert through A, search through B with min_sequence; delete through B, A answers 404', async () => {
    const created = await call(a, 'POST', '/v1/collections', {
      name: 'shared',
      dim: 3,
      metric: 'l2',
      index: { type: 'hnsw' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const upserted = await call(a, 'PUT', '/v1/collections/shared/points', {
      points: [
        { id: 'p', vector: [1, 2, 3], payload: { colour: 'red' } },
        { id: 'q', vector: [-1, -2, -3] },
      ],
    });
    assert.equal(upserted.status, 200, JSON.stringify(upserted.body));
    assert.ok(upserted.body.sequence > created.body.sequence);
    const found = await call(b, 'POST', '/v1/collections/shared/search', {
      vector: [1, 2, 3.1],
      k: 1,
      min_sequence: upserted.body.sequence,
    });
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.deepEqual(found.body.results[0], {
      id: 'p',
      score: found.body.results[0].score,
      payload: { colour: 'red' },
    });
    assert.ok(found.body.sequence >= upserted.body.sequence);

    // A write through B right after A's create: min_sequence makes B catch up with the create first.
    const created2 = await call(a, 'POST', '/v1/collections', { name: 'fresh', dim: 2 });
    const written = await call(b, 'PUT', '/v1/collections/fresh/points', {
      points: [{ id: 'x', vector: [1, 0] }],
      min_sequence: created2.body.sequence,
    });
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.equal(
      (await call(b, 'DELETE', `/v1/collections/fresh?min_sequence=${written.body.sequence}`)).status,
      204,
    );

    const deleted = await call(b, 'DELETE', '/v1/collections/shared');
    assert.equal(deleted.status, 204);
    const sequence = Number(deleted.headers.get('meanserve-sequence'));
    assert.ok(sequence > upserted.body.sequence);
    const gone = await call(a, 'GET', `/v1/collections/shared?min_sequence=${sequence}`);
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
    assert.equal(gone.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const search = await call(a, 'POST', '/v1/collections/shared/search', {
      vector: [1, 2, 3],
      min_sequence: sequence,
    });
    assert.equal(search.status, 404);
  });

  it('a replica asked for a sequence it has not reached answers 503 after its bound', async () => {
    const described = await call(b, 'GET', '/v1/collections?min_sequence=999999999');
    assert.equal(described.status, 503);
    assert.equal(described.body.type, 'urn:meanserve:problem:unavailable');
    assert.match(described.body.detail, /not yet 999999999/);
    assert.ok(Number(described.headers.get('retry-after')) >= 1);
  });

  it('a collection deleted through one replica while the other searches it: 200 or 404, never anything else', async () => {
    await call(a, 'POST', '/v1/collections', { name: 'doomed', dim: 2, metric: 'cosine' });
    const points = Array.from({ length: 500 }, (_, i) => ({
      id: `p${i}`,
      vector: [Math.cos(i), Math.sin(i)],
    }));
    const filled = await call(a, 'PUT', '/v1/collections/doomed/points', { points });
    const statuses: number[] = [];
    let stop = false;
    const searcher = async () => {
      for (let i = 0; !stop; i++) {
        const reply = await call(b, 'POST', '/v1/collections/doomed/search', {
          vector: [Math.cos(i), Math.sin(i)],
          k: 5,
          min_sequence: filled.body.sequence,
        });
        statuses.push(reply.status);
      }
    };
    const searching = [searcher(), searcher(), searcher()];
    await waitFor('searches to run', async () => statuses.length >= 20);
    const deleted = await call(a, 'DELETE', '/v1/collections/doomed');
    assert.equal(deleted.status, 204);
    const sequence = Number(deleted.headers.get('meanserve-sequence'));
    await waitFor('B to catch up with the deletion', async () => {
      const reply = await call(b, 'GET', `/v1/collections/doomed?min_sequence=${sequence}`);
      return reply.status === 404;
    });
    const afterCount = statuses.length;
    await waitFor('searches after the deletion', async () => statuses.length >= afterCount + 10);
    stop = true;
    await Promise.all(searching);
    assert.deepEqual([...new Set(statuses)].sort(), [200, 404]);
    assert.ok(statuses.slice(afterCount).every((status) => status === 404));
    assert.equal((await fetch(`${b}/health/live`)).status, 200);
  });

  it("counts a key's rate limit once across both replicas", async () => {
    for (let request = 0; request < READ_LIMIT; request++) {
      const reply = await call(request % 2 === 0 ? a : b, 'GET', '/v1/job-types', undefined, BOB);
      assert.equal(reply.status, 200);
    }
    for (const base of [a, b]) {
      assert.equal((await call(base, 'GET', '/v1/job-types', undefined, BOB)).status, 429);
    }
  });

  it('a replica killed with SIGKILL in the middle of an upsert leaves the collection as it was', async () => {
    const created = await call(b, 'POST', '/v1/collections', { name: 'survivor', dim: 8, metric: 'l2' });
    assert.equal(created.status, 201);
    const first = await call(b, 'PUT', '/v1/collections/survivor/points', {
      points: [{ id: 'kept', vector: [1, 1, 1, 1, 1, 1, 1, 1] }],
    });
    // Hold the change log, so that A's transaction stops after writing its points and before committing.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE collection_changes IN EXCLUSIVE MODE');
    const points = Array.from({ length: 1000 }, (_, i) => ({
      id: `new-${i}`,
      vector: Array.from({ length: 8 }, (_, d) => i + d),
    }));
    const upsert = call(a, 'PUT', '/v1/collections/survivor/points', { points }).catch(
      (error: Error) => error,
    );
    await waitFor('A to wait inside its transaction', async () => {
      const rows = await query<{ n: string }>(
        database.url,
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO collection_changes%'`,
      );
      return rows[0]?.n === '1';
    });
    const [uncommitted] = await query<{ n: string }>(
      database.url,
      "SELECT count(*) AS n FROM collection_points WHERE collection = 'survivor'",
    );
    assert.equal(uncommitted?.n, '1', 'its points are not visible before it commits');
    await kill((replicas[0] as ApiReplica).child, 'SIGKILL');
    assert.ok((await upsert) instanceof Error, 'the client of the killed replica gets no answer');
    await blocker.query('ROLLBACK');
    await blocker.end();

    // The transaction died with its connection: the collection is as it was, and writes go on.
    const after = await call(b, 'PUT', '/v1/collections/survivor/points', {
      points: [{ id: 'later', vector: [2, 2, 2, 2, 2, 2, 2, 2] }],
    });
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.count, 2);
    assert.ok(after.body.sequence > first.body.sequence);
    const [stored] = await query<{ n: string }>(
      database.url,
      "SELECT count(*) AS n FROM collection_points WHERE collection = 'survivor'",
    );
    assert.equal(stored?.n, '2');
    const described = await call(b, 'GET', `/v1/collections/survivor?min_sequence=${after.body.sequence}`);
    assert.equal(described.body.count, 2);
  });
});

describe('collections when PostgreSQL is unreachable at start', () => {
  it('the replica is not ready, says why, and answers collection routes with 503', async () => {
    const app = await startApp({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/meanserve' });
    try {
      await waitFor('the first load to fail', async () =>
        app.collections.readiness()[0]?.includes('unreachable'),
      );
      const ready = await app.inject({ url: '/health/ready' });
      assert.equal(ready.statusCode, 503);
      assert.ok(
        ready
          .json()
          .reasons.some((reason: string) =>
            /collections: PostgreSQL unreachable \(.*ECONNREFUSED/.test(reason),
          ),
        ready.body,
      );
      for (const [method, url] of [
        ['GET', '/v1/collections'],
        ['GET', '/v1/collections/any'],
        ['POST', '/v1/collections'],
      ] as const) {
        const response = await app.inject({
          method,
          url,
          ...(method === 'POST' ? { payload: { name: 'any', dim: 2 } } : {}),
        });
        assert.equal(response.statusCode, 503, `${method} ${url}: ${response.body}`);
        assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
      assert.equal((await app.inject({ url: '/metrics' })).statusCode, 200);
    } finally {
      await stopApp(app);
    }
  });
});
