// The PostgreSQL collection store with several replicas (store instances, each with its own index) on one
// database: they follow each other's writes through the change log, converge when they write the same
// point at once, migrate once however often and however concurrently asked, and ride out PostgreSQL
// going away — at start (not ready, then loaded when it comes) and mid-run (writes 503 fast, searches
// serve the last index, the missed changes are caught up when it is back). PostgreSQL is cut off with a
// TCP proxy in front of the real server.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { settleWithin } from '../src/lib/settle-within.js';
import type { CollectionConfig, Point } from '../src/retrieval/collections/collection.js';
import { migrate } from '../src/retrieval/collections/postgres/migrations.js';
import { PostgresCollectionStore } from '../src/retrieval/collections/postgres/postgres-collection-store.js';
import { createDatabase, POSTGRES_URL, query, type TestDatabase } from './helpers/postgres.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { waitFor } from './helpers/wait.js';

const log = pino({ level: 'silent' });

const config = (name: string): CollectionConfig => ({
  name,
  dim: 2,
  metric: 'l2',
  index: { type: 'flat', m: 16, ef_construction: 200, ef_search: 64 },
  created_at: new Date().toISOString(),
});

const point = (id: string, x: number, y: number): Point => ({ id, vector: Float32Array.of(x, y) });

describe('PostgreSQL collection store: replicas and faults', () => {
  let database: TestDatabase;
  const stores: PostgresCollectionStore[] = [];
  const proxies: TcpProxy[] = [];
  const replica = async (url = database.url) => {
    const store = new PostgresCollectionStore(url, log);
    stores.push(store);
    await store.load();
    return store;
  };
  before(async () => {
    database = await createDatabase();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.cut()));
    await query(database.url, 'DELETE FROM collections').catch(() => undefined);
  });
  after(() => database.drop());

  const proxied = async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(POSTGRES_URL).port || 5432));
    proxies.push(proxy);
    const port = await proxy.reserve();
    const url = new URL(database.url);
    url.port = String(port);
    return { proxy, url: url.toString() };
  };

  it('a write through one replica reaches another, deletes included', async () => {
    const a = await replica();
    const b = await replica();
    const { collection, sequence: created } = await a.create(config('shared'));
    assert.equal(await b.reached(created, 5000), true);
    const written = await a.upsert(collection, [point('p', 1, 2), point('q', 3, 4)]);
    assert.equal(await b.reached(written, 5000), true);
    assert.deepEqual([...b.get('shared').get('p').vector], [1, 2]);
    const deleted = await b.deletePoint('shared', 'q');
    assert.equal(await a.reached(deleted, 5000), true);
    assert.throws(() => a.get('shared').get('q'), { status: 404 });
    const dropped = await b.drop('shared');
    assert.equal(await a.reached(dropped, 5000), true);
    assert.throws(() => a.get('shared'), { status: 404 });
    // A replica started now loads what the others left.
    const c = await replica();
    assert.equal(c.sequence, dropped);
    assert.deepEqual(c.list(), []);
  });

  it('two replicas writing the same point at once converge on the write with the higher sequence', async () => {
    const a = await replica();
    const b = await replica();
    const { collection, sequence } = await a.create(config('contended'));
    await b.reached(sequence, 5000);
    const writes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const [store, target] = i % 2 === 0 ? [a, collection] : [b, b.get('contended')];
        return store.upsert(target, [point('same', i, -i)]).then((at) => ({ at, i }));
      }),
    );
    const last = writes.reduce((best, write) => (write.at > best.at ? write : best));
    for (const store of [a, b]) {
      assert.equal(await store.reached(last.at, 5000), true);
      assert.deepEqual([...store.get('contended').get('same').vector], [last.i, -last.i]);
    }
    const [row] = await query<{ version: string }>(
      database.url,
      "SELECT version FROM collection_points WHERE collection = 'contended' AND id = 'same'",
    );
    assert.equal(Number(row?.version), last.at);
  });

  it('an index job applied by two replicas at once is applied once', async () => {
    const a = await replica();
    const b = await replica();
    const { collection, sequence } = await a.create(config('indexed'));
    await b.reached(sequence, 5000);
    const points = Array.from({ length: 500 }, (_, i) => point(`test-${i}`, i, 0));
    const results = await Promise.all([
      a.applyJob(collection, 'job-7', points),
      b.applyJob(b.get('indexed'), 'job-7', points),
    ]);
    assert.equal(results.filter((result) => result === undefined).length, 1);
    const [row] = await query<{ changes: string }>(
      database.url,
      "SELECT count(*) AS changes FROM collection_changes WHERE job_id = 'job-7'",
    );
    assert.equal(row?.changes, '1');
    for (const store of [a, b]) {
      assert.equal(await store.reached(Math.max(...results.map((r) => r ?? 0)), 5000), true);
      assert.equal(store.get('indexed').count, 500);
      assert.ok(store.get('indexed').hasApplied('job-7'));
    }
  });

  it('migrates once, however often and however concurrently it is asked', async () => {
    const fresh = await createDatabase();
    const pool = new pg.Pool({ connectionString: fresh.url, max: 4 });
    // Dropping the database terminates any connection pool.end() has not finished closing; that is the
    // drop's doing, not the test's subject, and must not surface as an uncaught error.
    pool.on('error', () => undefined);
    try {
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      const applied = await Promise.all(clients.map((client) => migrate(client, log)));
      assert.deepEqual(applied.map((versions) => versions.length).sort(), [0, 0, 1]);
      assert.deepEqual(await migrate(clients[0] as pg.PoolClient, log), []);
      for (const client of clients) client.release();
      const rows = await query<{ version: number }>(fresh.url, 'SELECT version FROM schema_migrations');
      assert.deepEqual(
        rows.map((row) => row.version),
        [1],
      );
      // A database migrated by a newer meanserve is refused, not half-used.
      await query(fresh.url, "INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')");
      const client = await pool.connect();
      await assert.rejects(migrate(client, log), /schema version 99/);
      client.release();
    } finally {
      await pool.end();
      await fresh.drop();
    }
  });

  it('PostgreSQL unreachable at start: not ready, 503, then loaded once it answers', async () => {
    const seed = await replica();
    const { collection } = await seed.create(config('waiting'));
    await seed.upsert(collection, [point('p', 1, 1)]);
    const { proxy, url } = await proxied();
    const late = new PostgresCollectionStore(url, log);
    stores.push(late);
    late.loadInBackground();
    await waitFor('the first load to fail', async () => late.readiness()[0]?.includes('unreachable'));
    assert.match(late.readiness()[0] ?? '', /PostgreSQL unreachable \(.*ECONNREFUSED.*\); retrying/);
    assert.throws(() => late.get('waiting'), { status: 503 });
    assert.throws(() => late.list(), { status: 503 });
    await proxy.open();
    await waitFor('the store to load', async () => late.loaded, 10_000);
    assert.deepEqual(late.readiness(), []);
    assert.equal(late.get('waiting').count, 1);
  });

  it('PostgreSQL silent mid-run: writes 503 within STORAGE_TIMEOUT_MS (they waited for hours), then write again', async () => {
    const direct = await replica();
    const { proxy, url } = await proxied();
    await proxy.open();
    const silent = new PostgresCollectionStore(url, log, 1000);
    stores.push(silent);
    await silent.load();
    const { collection } = await direct.create(config('partitioned'));
    const before = await direct.upsert(collection, [point('old', 0, 0)]);
    assert.equal(await silent.reached(before, 5000), true);

    proxy.silence();
    const refused = silent.upsert(silent.get('partitioned'), [point('unconfirmed', 1, 1)]);
    const outcome = await settleWithin(
      refused,
      AbortSignal.timeout(10_000),
      () => new Error('still waiting after 10 s'),
    ).then(
      () => 'written',
      (error: { status?: number; message: string }) => `${error.status}: ${error.message}`,
    );
    assert.match(String(outcome), /^503: PostgreSQL unreachable: Query read timeout/);
    const hits = silent.get('partitioned').search(Float32Array.of(0, 0), { k: 1, path: '/body' });
    assert.deepEqual(
      hits.map((hit) => hit.id),
      ['old'],
    );

    proxy.hear();
    const after = await silent.upsert(silent.get('partitioned'), [point('later', 3, 3)]);
    assert.equal(await direct.reached(after, 5000), true);
    assert.deepEqual([...direct.get('partitioned').get('later').vector], [3, 3]);
  });

  it('PostgreSQL out of connections: writes 503 (they were 500s), then write again', async () => {
    const role = `${database.name}_limited`;
    await query(database.url, `CREATE ROLE ${role} LOGIN`);
    await query(database.url, `GRANT ALL ON SCHEMA public TO ${role}`);
    await query(database.url, `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
    try {
      const url = new URL(database.url);
      url.username = role;
      await (await replica()).create(config('crowded'));
      const limited = await replica(url.toString());
      const collection = limited.get('crowded');
      // The role may open no more connections (superusers are not limited: the role is not one), and the
      // ones it has are gone: the next write needs a new one.
      await query(database.url, `ALTER ROLE ${role} CONNECTION LIMIT 0`);
      await query(database.url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [
        role,
      ]);
      // The pool may still hold a connection the termination has not reached yet (a loaded machine): a write
      // on it is refused as unreachable, a 503 too; the next needs a new connection, which the limit refuses.
      await waitFor('a write refused by the connection limit', async () => {
        const error = await limited.upsert(collection, [point('refused', 1, 1)]).then(
          () => assert.fail('the write went through'),
          (caught: Error) => caught,
        );
        assert.equal((error as { status?: number }).status, 503);
        assert.equal((error as { retryAfter?: number }).retryAfter, 2);
        return /PostgreSQL cannot take the change now: too many connections for role/.test(error.message);
      });
      await query(database.url, `ALTER ROLE ${role} CONNECTION LIMIT -1`);
      await waitFor('the write to go through', () =>
        limited.upsert(collection, [point('taken', 1, 1)]).then(
          () => true,
          () => false,
        ),
      );
    } finally {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      await query(database.url, `DROP OWNED BY ${role}`);
      await query(database.url, `DROP ROLE ${role}`);
    }
  });

  it('PostgreSQL gone mid-run: writes 503 fast, searches serve the last index, then it catches up', async () => {
    const direct = await replica();
    const { proxy, url } = await proxied();
    await proxy.open();
    const cutOff = await replica(url);
    const { collection } = await direct.create(config('outage'));
    const before = await direct.upsert(collection, [point('old', 0, 0)]);
    assert.equal(await cutOff.reached(before, 5000), true);

    await proxy.cut();
    const started = Date.now();
    await assert.rejects(cutOff.upsert(cutOff.get('outage'), [point('lost', 1, 1)]), (error: Error) => {
      assert.equal((error as { status?: number }).status, 503);
      assert.match(error.message, /PostgreSQL unreachable/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, `the write took ${Date.now() - started} ms to fail`);
    const hits = cutOff.get('outage').search(Float32Array.of(0, 0), { k: 1, path: '/body' });
    assert.deepEqual(
      hits.map((hit) => hit.id),
      ['old'],
    );
    // Meanwhile another replica writes; the cut-off one cannot see it yet.
    const during = await direct.upsert(collection, [point('new', 2, 2)]);
    assert.equal(await cutOff.reached(during, 300), false);

    await proxy.open();
    assert.equal(await cutOff.reached(during, 10_000), true);
    assert.deepEqual([...cutOff.get('outage').get('new').vector], [2, 2]);
    assert.throws(() => cutOff.get('outage').get('lost'), { status: 404 });
    // And it writes again.
    const after = await cutOff.upsert(cutOff.get('outage'), [point('later', 3, 3)]);
    assert.equal(await direct.reached(after, 5000), true);
  });
});
