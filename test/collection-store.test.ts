// The file collection store on its own (the contract both stores keep is collection-store-contract.test.ts):
// concurrent edits all reach the file, a dropped collection is not written back by a save still queued, a
// collection created again while its old self is being dropped keeps its file, and an unreadable file is
// reported and left in place.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import type { CollectionConfig } from '../src/retrieval/collections/collection.js';
import { FileCollectionStore } from '../src/retrieval/collections/file-collection-store.js';

const config = (name: string): CollectionConfig => ({
  name,
  dim: 2,
  metric: 'l2',
  index: { type: 'hnsw', m: 8, ef_construction: 50, ef_search: 16 },
  created_at: new Date().toISOString(),
});

describe('collection store', () => {
  let dataDir: string;
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meanserve-store-'));
    errors.length = 0;
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('persists every one of many concurrent edits', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('busy'));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.upsert(collection, [{ id: `p${i}`, vector: Float32Array.of(i, -i) }]),
      ),
    );
    const reloaded = new FileCollectionStore(dataDir, log);
    await reloaded.load();
    assert.equal(reloaded.get('busy').count, 50);
    assert.deepEqual([...reloaded.get('busy').get('p49').vector], [49, -49]);
  });

  it('does not write back a collection dropped while its save was queued', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('gone'));
    const edit = store.upsert(collection, [{ id: 'a', vector: Float32Array.of(1, 2) }]);
    const dropped = store.drop('gone');
    await Promise.all([edit, dropped]);
    assert.deepEqual(await readdir(store.directory), ['SEQUENCE']);
    assert.throws(() => store.get('gone'), /does not exist/);
  });

  it('keeps the file of a collection created again while its old incarnation is being dropped', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    const { collection } = await store.create(config('again'));
    await store.upsert(collection, [{ id: 'old', vector: Float32Array.of(1, 2) }]);
    // The client's create arrives while the drop still writes the sequence file and removes the old file.
    const dropped = store.drop('again');
    const created = store.create(config('again'));
    await Promise.all([dropped, created]);
    const reloaded = new FileCollectionStore(dataDir, log);
    await reloaded.load();
    assert.equal(reloaded.get('again').count, 0, 'the new, empty collection survives a restart');
  });

  it('reports an unreadable collection file and leaves it alone', async () => {
    const store = new FileCollectionStore(dataDir, log);
    await store.load();
    await store.create(config('fine'));
    await writeFile(join(store.directory, 'broken.collection'), 'MSCOLL1\n garbage');
    const reloaded = new FileCollectionStore(dataDir, log);
    await reloaded.load();
    assert.deepEqual(
      reloaded.list().map((collection) => collection.config.name),
      ['fine'],
    );
    assert.ok(
      errors.some((line) => line.includes('broken.collection')),
      errors.join('\n'),
    );
    assert.equal(await readFile(join(store.directory, 'broken.collection'), 'utf8'), 'MSCOLL1\n garbage');
  });
});
