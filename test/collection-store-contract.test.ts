// One contract, two backends: the file store and the PostgreSQL store (really talking to the local
// PostgreSQL, in a database of its own) must behave the same for create, upsert, delete, drop, index jobs,
// sequences and a restart. Behaviour only one backend has (damaged files; replicas following the change
// log) is tested beside it: collection-store.test.ts, collections-postgres.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import type { Collection, CollectionConfig, Point } from '../src/retrieval/collections/collection.js';
import type { CollectionStore } from '../src/retrieval/collections/collection-store.js';
import { FileCollectionStore } from '../src/retrieval/collections/file-collection-store.js';
import { PostgresCollectionStore } from '../src/retrieval/collections/postgres/postgres-collection-store.js';
import { createDatabase, type TestDatabase } from './helpers/postgres.js';

const log = pino({ level: 'silent' });

const config = (name: string, type: 'hnsw' | 'flat' = 'hnsw'): CollectionConfig => ({
  name,
  dim: 2,
  metric: 'l2',
  index: { type, m: 8, ef_construction: 50, ef_search: 16 },
  created_at: new Date().toISOString(),
});

const point = (id: string, x: number, y: number, payload?: Record<string, unknown>): Point => ({
  id,
  vector: Float32Array.of(x, y),
  ...(payload === undefined ? {} : { payload }),
});

interface Backend {
  /** A new store on the same place (a restart, or another replica). */
  open(): Promise<CollectionStore>;
  cleanup(): Promise<void>;
}

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'file',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-contract-'));
      return {
        open: async () => {
          const store = new FileCollectionStore(dataDir, log);
          await store.load();
          return store;
        },
        cleanup: () => rm(dataDir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'postgres',
    async () => {
      const database: TestDatabase = await createDatabase();
      return {
        open: async () => {
          const store = new PostgresCollectionStore(database.url, log);
          await store.load();
          return store;
        },
        cleanup: () => database.drop(),
      };
    },
  ],
];

for (const [backendName, makeBackend] of backends) {
  describe(`collection store contract: ${backendName}`, () => {
    let backend: Backend;
    let store: CollectionStore;
    const opened: CollectionStore[] = [];
    const open = async () => {
      const next = await backend.open();
      opened.push(next);
      return next;
    };

    before(async () => {
      backend = await makeBackend();
    });
    after(() => backend.cleanup());
    beforeEach(async () => {
      store = await open();
      for (const collection of store.list()) await store.drop(collection.config.name);
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((each) => each.close()));
    });

    const searchIds = (collection: Collection, x: number, y: number, k = 3) =>
      collection.search(Float32Array.of(x, y), { k, path: '/body' }).map((hit) => hit.id);

    it('creates, lists, describes and numbers every change', async () => {
      assert.equal(store.backend, backendName);
      assert.equal(store.loaded, true);
      const before = store.sequence;
      const { collection, sequence } = await store.create(config('a'));
      assert.ok(sequence > before);
      assert.equal(store.sequence, sequence);
      assert.equal(collection.config.name, 'a');
      assert.equal(store.get('a'), collection);
      assert.equal(store.describe('a'), collection);
      await store.create(config('b', 'flat'));
      assert.deepEqual(
        store.list().map((each) => each.config.name),
        ['a', 'b'],
      );
      await assert.rejects(store.create(config('a')), { status: 409 });
      assert.throws(() => store.get('missing'), { status: 404 });
      assert.deepEqual(store.damagedList(), []);
      assert.deepEqual(store.readiness(), []);
    });

    it('upserts all points of a batch, the last of a repeated id winning, and deletes points', async () => {
      const { collection, sequence: created } = await store.create(config('points'));
      const sequence = await store.upsert(collection, [
        point('p1', 0, 0, { colour: 'red' }),
        point('p2', 1, 0),
        point('p1', 5, 5, { colour: 'blue' }),
      ]);
      assert.ok(sequence > created);
      assert.equal(collection.count, 2);
      assert.deepEqual([...collection.get('p1').vector], [5, 5]);
      assert.deepEqual(collection.get('p1').payload, { colour: 'blue' });
      assert.equal(collection.get('p2').payload, null);
      assert.deepEqual(searchIds(collection, 1, 0, 1), ['p2']);
      const deleted = await store.deletePoint('points', 'p2');
      assert.ok(deleted > sequence);
      assert.throws(() => collection.get('p2'), { status: 404 });
      await assert.rejects(store.deletePoint('points', 'p2'), { status: 404 });
      assert.equal(store.sequence, deleted);
    });

    it('keeps every one of many concurrent upserts', async () => {
      const { collection } = await store.create(config('busy'));
      const sequences = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.upsert(collection, [point(`p${i}`, i, -i)])),
      );
      assert.equal(new Set(sequences).size, 40);
      assert.equal(collection.count, 40);
      const reopened = await open();
      assert.equal(reopened.get('busy').count, 40);
      assert.deepEqual([...reopened.get('busy').get('p39').vector], [39, -39]);
    });

    it('refuses writes to a collection deleted (404) or re-created (409) since it was looked up', async () => {
      const { collection: first } = await store.create(config('again'));
      await store.drop('again');
      assert.throws(() => store.get('again'), { status: 404 });
      await assert.rejects(store.upsert(first, [point('x', 1, 1)]), { status: 404 });
      await assert.rejects(store.drop('again'), { status: 404 });
      const { collection: second } = await store.create(config('again'));
      await assert.rejects(store.upsert(first, [point('x', 1, 1)]), { status: 409 });
      await store.upsert(second, [point('y', 1, 1)]);
      assert.equal(store.get('again').count, 1);
    });

    it('applies an index job once, with its points, and remembers it across a restart', async () => {
      const { collection } = await store.create(config('indexed'));
      const points = Array.from({ length: 2500 }, (_, i) => point(`test-${i}`, i, i % 7, { index: i }));
      const applied = await store.applyJob(collection, 'job-1', points);
      assert.equal(typeof applied, 'number');
      assert.equal(collection.count, 2500);
      assert.ok(collection.hasApplied('job-1'));
      assert.equal(await store.applyJob(collection, 'job-1', points), undefined);
      const reopened = await open();
      const again = reopened.get('indexed');
      assert.ok(again.hasApplied('job-1'));
      assert.equal(await reopened.applyJob(again, 'job-1', points), undefined);
      assert.deepEqual(again.get('test-2499').payload, { index: 2499 });
    });

    it('reloads every collection, point and the sequence after a restart', async () => {
      const { collection } = await store.create(config('kept'));
      await store.upsert(collection, [point('a', 1, 2, { n: 1 }), point('b', 3, 4)]);
      await store.create(config('dropped'));
      const last = await store.drop('dropped');
      const reopened = await open();
      assert.equal(reopened.sequence, last);
      assert.deepEqual(
        reopened.list().map((each) => each.config.name),
        ['kept'],
      );
      const kept = reopened.get('kept');
      assert.deepEqual([...kept.get('a').vector], [1, 2]);
      assert.deepEqual(kept.get('a').payload, { n: 1 });
      assert.deepEqual(searchIds(kept, 3, 4, 1), ['b']);
      assert.deepEqual(kept.config, collection.config);
      // Numbering goes on from there.
      assert.ok((await reopened.upsert(kept, [point('c', 0, 0)])) > last);
    });

    it('waits for a sequence, bounded, and has nothing to recover in a healthy collection', async () => {
      await store.create(config('healthy'));
      assert.equal(await store.reached(store.sequence, 10), true);
      const started = Date.now();
      assert.equal(await store.reached(store.sequence + 1000, 150), false);
      assert.ok(Date.now() - started >= 140);
      const aborted = new AbortController();
      const waiting = store.reached(store.sequence + 1000, 10_000, aborted.signal);
      aborted.abort();
      assert.equal(await waiting, false);
      await assert.rejects(store.recover('healthy'), { status: 409 });
      await assert.rejects(store.recover('missing'), { status: 404 });
    });
  });
}
