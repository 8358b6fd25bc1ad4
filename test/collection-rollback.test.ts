// Edits a save could not write are undone: the file collection store acknowledges a change once its file is
// written, so a change the disk refused must be neither served nor written by a later save. It was both:
// refused points were readable and searchable, and the next save that succeeded wrote them (test/
// storage-full.test.ts shows it on a full disk through the API). Here: Collection.rollback on both index
// types, and the store when its directory stops taking files.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { Collection, type CollectionConfig } from '../src/retrieval/collections/collection.js';
import { FileCollectionStore } from '../src/retrieval/collections/file-collection-store.js';

const config = (name: string, type: 'hnsw' | 'flat'): CollectionConfig => ({
  name,
  dim: 3,
  metric: 'l2',
  index: { type, m: 8, ef_construction: 50, ef_search: 64 },
  created_at: new Date().toISOString(),
});

const point = (id: string, seed: number, payload?: Record<string, unknown>) => ({
  id,
  vector: Float32Array.of(Math.sin(seed), Math.cos(seed * 3), Math.sin(seed * 7)),
  ...(payload === undefined ? {} : { payload }),
});

/** Everything a client can read of a collection: its points, payload fields, applied jobs and searches. */
function readable(collection: Collection, ids: string[]) {
  const points = ids.map((id) => {
    try {
      const found = collection.get(id);
      return { id, vector: [...found.vector], payload: found.payload };
    } catch {
      return { id, absent: true };
    }
  });
  const searches = [0, 1, 2, 3].map((seed) =>
    collection.search(point('q', seed * 1.7).vector, { k: 5, path: '/body' }),
  );
  const filtered = collection.search(point('q', 0.5).vector, {
    k: 5,
    path: '/body',
    filter: { colour: 'red' },
  });
  return {
    count: collection.count,
    points,
    fields: collection.payloadFields(),
    applied: collection.hasApplied('job-1'),
    searches,
    filtered,
  };
}

describe('Collection.rollback', () => {
  for (const type of ['hnsw', 'flat'] as const) {
    it(`undoes every edit since the last commit (${type})`, () => {
      const collection = new Collection(config('c', type));
      collection.trackSaves();
      collection.upsert(
        Array.from({ length: 30 }, (_, i) => point(`p${i}`, i, { colour: i % 2 ? 'red' : 'blue' })),
      );
      collection.delete('p29');
      collection.commit(collection.snapshot().mark);
      const ids = Array.from({ length: 40 }, (_, i) => `p${i}`);
      const before = readable(collection, ids);

      collection.upsert([
        point('p1', 100, { size: 3 }),
        point('p30', 30),
        point('p31', 31, { colour: 'red' }),
      ]);
      collection.delete('p2');
      collection.delete('p30');
      collection.upsert([point('p2', 200), point('p29', 29)]);
      collection.markApplied('job-1');
      assert.notDeepEqual(readable(collection, ids), before);

      collection.rollback();
      assert.deepEqual(readable(collection, ids), before);
      // Edits after a rollback are tracked from the file's state again.
      collection.upsert([point('p32', 32)]);
      collection.rollback();
      assert.deepEqual(readable(collection, ids), before);
    });
  }

  it('takes new points after every point was deleted (hnswlib crashed the process)', () => {
    // The points, in this order, of the index job whose refused save rolled every one back (below): added to
    // a graph of deleted points only, hnswlib found no live point to link to and read past an empty list.
    const collection = new Collection(config('c', 'hnsw'));
    const first = [
      ...Array.from({ length: 5000 }, (_, i) => point(`a${i}`, i)),
      point('twin', 1),
      ...Array.from({ length: 2000 }, (_, i) => point(`a${5000 + i}`, 5000 + i)),
    ];
    collection.upsert(first);
    for (const { id } of first) collection.delete(id);
    collection.upsert(Array.from({ length: 13_000 }, (_, i) => point(`b${i}`, 7000 + i)));
    assert.equal(collection.count, 13_000);
    const [nearest] = collection.search(point('q', 7005).vector, { k: 1, path: '/body' });
    assert.equal(nearest?.id, 'b5');
  });

  it('keeps what a commit covered, and what came after the snapshot is undone', () => {
    const collection = new Collection(config('c', 'hnsw'));
    collection.trackSaves();
    collection.upsert([point('a', 1), point('b', 2)]);
    const { mark } = collection.snapshot();
    collection.upsert([point('c', 3)]);
    collection.delete('a');
    collection.commit(mark); // the file written holds a and b
    collection.rollback();
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => safeHas(collection, id)),
      [true, true, false],
    );
  });
});

function safeHas(collection: Collection, id: string): boolean {
  try {
    collection.get(id);
    return true;
  } catch {
    return false;
  }
}

describe('file collection store, a directory that stops taking files', () => {
  let dataDir: string;
  const log = pino({ level: 'silent' });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-rollback-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('refuses the edits of a save the disk refused, and those queued behind it, and keeps none', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('c', 'hnsw'));
    await store.upsert(collection, [point('p0', 0), point('p1', 1), point('p2', 2)]);

    // The directory becomes a file: every write into it fails (ENOTDIR), whoever runs the test.
    const directory = join(dataDir, 'collections');
    await rename(directory, `${directory}.away`);
    await writeFile(directory, 'not a directory');
    const first = store.upsert(collection, [point('p5', 5)]);
    // Made while the first save runs: they wait for the next one.
    const queued = [store.upsert(collection, [point('p1', 100)]), store.deletePoint('c', 'p0')];
    await assert.rejects(first, /ENOTDIR/);
    for (const edit of queued) await assert.rejects(edit, /ENOTDIR/);
    assert.equal(safeHas(collection, 'p5'), false);
    assert.equal(safeHas(collection, 'p0'), true);
    assert.deepEqual([...collection.get('p1').vector], [...point('p1', 1).vector]);

    await rm(directory);
    await rename(`${directory}.away`, directory);
    await store.upsert(collection, [point('p9', 9)]);
    const reloaded = new FileCollectionStore(dataDir, log);
    await reloaded.load();
    const saved = reloaded.get('c');
    assert.equal(saved.count, 4);
    for (const id of ['p0', 'p1', 'p2', 'p9']) assert.equal(safeHas(saved, id), true, id);
    assert.deepEqual([...saved.get('p1').vector], [...point('p1', 1).vector]);
    assert.equal(safeHas(saved, 'p5'), false);
  });

  it("puts an index job's points in again when a refused save undid some of them meanwhile", async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('c', 'hnsw'));
    const many = Array.from({ length: 20_000 }, (_, i) => point(`j${i}`, i));
    const applying = store.applyJob(collection, 'job-1', many);
    // While the job's first chunks are in, an edit's save is refused and undoes them.
    const directory = join(dataDir, 'collections');
    await rename(directory, `${directory}.away`);
    await writeFile(directory, 'not a directory');
    await assert.rejects(store.upsert(collection, [point('x', 1)]), /ENOTDIR/);
    await rm(directory);
    await rename(`${directory}.away`, directory);
    assert.ok(collection.rollbacks > 0);
    await applying;
    assert.equal(collection.count, 20_000, 'every point of the job is in');
    assert.equal(collection.hasApplied('job-1'), true);
    const reloaded = new FileCollectionStore(dataDir, log);
    await reloaded.load();
    assert.equal(reloaded.get('c').count, 20_000);
  });

  it('keeps a collection whose drop the disk refused', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('kept', 'flat'));
    await store.upsert(collection, [point('p0', 0)]);
    const directory = join(dataDir, 'collections');
    await rename(directory, `${directory}.away`);
    // SEQUENCE as a directory: the drop's first write (the sequence it reached) fails.
    await mkdir(join(directory, 'SEQUENCE'), { recursive: true });
    await assert.rejects(store.drop('kept'));
    assert.equal(store.get('kept').count, 1);
    await rm(directory, { recursive: true });
    await rename(`${directory}.away`, directory);
  });
});
