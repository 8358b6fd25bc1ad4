// What vector collections may take in memory together (COLLECTIONS_MEMORY_BYTES). Without it 2 000 empty
// HNSW collections, one 60-byte request each, took the server from 0.45 to 5.9 GB (hnswlib's graph holds
// 65 536 locks, 2.56 MiB, however empty), and upserts could go on until the process died. Creates and
// upserts that would pass the estimate get 507 before anything is stored; deletes give the room back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type CollectionConfig, collectionMemoryBytes } from '../src/retrieval/collections/collection.js';
import { buildApp } from '../src/server/app.js';
import { startApp, stopApp, testConfig } from './helpers/app.js';

const MIB = 1024 * 1024;

const configOf = (type: 'hnsw' | 'flat', dim: number): CollectionConfig => ({
  name: 'estimate',
  dim,
  metric: 'l2',
  index: { type, m: 16, ef_construction: 200, ef_search: 64 },
  created_at: '',
});
/** Three empty HNSW graphs fit, a fourth does not. */
const LIMIT = 8 * MIB;

describe('the memory budget of vector collections', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildApp(await testConfig({ COLLECTIONS_MEMORY_BYTES: String(LIMIT) }), {
      loadModels: false,
    });
  });
  after(() => stopApp(app));

  const create = (name: string, index: 'hnsw' | 'flat', dim = 4) =>
    app.inject({
      method: 'POST',
      url: '/v1/collections',
      payload: { name, dim, metric: 'l2', index: { type: index } },
    });
  const upsert = (name: string, count: number, dim: number) =>
    app.inject({
      method: 'PUT',
      url: `/v1/collections/${name}/points`,
      payload: {
        points: Array.from({ length: count }, (_, i) => ({
          id: `p${i}`,
          vector: Array.from({ length: dim }, (_, d) => (d === i % dim ? 1 : 0)),
        })),
      },
    });

  it('refuses a collection past the budget with 507, taken concurrently or not, and takes it once room is made', async () => {
    // Eight at once: only as many as fit are made (creates under way count).
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => create(name, 'hnsw')),
    );
    assert.deepEqual(
      answers.map((answer) => answer.statusCode).sort(),
      [201, 201, 201, 507, 507, 507, 507, 507],
    );
    const refused = answers.find((answer) => answer.statusCode === 507)?.json();
    assert.equal(refused.type, 'urn:meanserve:problem:storage-full');
    assert.match(refused.detail, /COLLECTIONS_MEMORY_BYTES allows, and a new collection would add 2684355/);
    const made = answers.flatMap((answer) =>
      answer.statusCode === 201 ? [answer.json().name as string] : [],
    );
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/collections/${made[0]}` })).statusCode, 204);
    assert.equal((await create('after-delete', 'hnsw')).statusCode, 201);
  });

  it('refuses points past the budget with 507 before storing any, and takes fewer', async () => {
    assert.equal((await create('flat', 'flat', 1024)).statusCode, 201);
    const perPoint = collectionMemoryBytes(configOf('flat', 1024), 1, 0);
    const room = LIMIT - 3 * collectionMemoryBytes(configOf('hnsw', 4), 0, 0);
    const tooMany = Math.ceil(room / perPoint) + 1;
    const refused = await upsert('flat', tooMany, 1024);
    assert.equal(refused.statusCode, 507, refused.body);
    assert.match(refused.json().detail, new RegExp(`these ${tooMany} points would add`));
    assert.equal((await app.inject('/v1/collections/flat')).json().count, 0, 'nothing stored');
    const taken = await upsert('flat', 10, 1024);
    assert.equal(taken.statusCode, 200, taken.body);
    const metrics = (await app.inject('/metrics')).body;
    const estimated = Number(/meanserve_collections_memory_bytes (\d+)/.exec(metrics)?.[1]);
    assert.ok(estimated > 3 * 2_684_355 && estimated <= LIMIT, `estimated ${estimated}`);
  });
});

describe('the memory budget at the submission of a collections.index job', () => {
  let app: FastifyInstance;
  before(async () => {
    // One empty HNSW graph fits, with room for a few hundred points of 64 floats, not for the 2 000 demo images.
    app = await startApp({ COLLECTIONS_MEMORY_BYTES: String(4 * MIB) });
  });
  after(() => stopApp(app));

  it('refuses a job whose points would not fit with 507, before anything runs, and takes a smaller one', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/collections',
      payload: { name: 'images', model: 'fmnist-embed-mf' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const submit = (source: Record<string, unknown>) =>
      app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'collections.index', params: { collection: 'images', source } },
      });
    const refused = await submit({ split: 'demo' });
    assert.equal(refused.statusCode, 507, refused.body);
    assert.match(refused.json().detail, /indexing 2000 points would add \d+: delete points or collections/);
    assert.equal((await app.inject('/v1/jobs')).json().data.length, 0, 'nothing queued');
    const taken = await submit({ split: 'demo', limit: 100 });
    assert.equal(taken.statusCode, 202, taken.body);
  });
});
