import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { buildApp } from '../src/server/app.js';
import { assertLive, listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { pngBase64 } from './helpers/png-writer.js';

const demo = await readFashionMnist(MODELS_DIR, 'demo');
const png = (index: number) => pngBase64(demo.pixels.slice(index * 784, (index + 1) * 784));

describe('collections', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  const problemPaths = (response: { json(): { errors?: Array<{ path: string }> } }) =>
    (response.json().errors ?? []).map((error) => error.path);

  it('creates, lists, describes and deletes collections', async () => {
    const created = await call('POST', '/v1/collections', {
      name: 'vectors',
      dim: 3,
      metric: 'l2',
      index: { type: 'flat' },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.deepEqual(
      { ...(created.json() as object), created_at: undefined, sequence: undefined },
      {
        name: 'vectors',
        state: 'ready',
        dim: 3,
        metric: 'l2',
        model: null,
        index: { type: 'flat', m: 16, ef_construction: 200, ef_search: 64 },
        count: 0,
        payload_fields: [],
        created_at: undefined,
        sequence: undefined,
      },
    );
    assert.equal(created.json().sequence, 1);
    const withModel = await call('POST', '/v1/collections', { name: 'images', model: 'fmnist-embed-mf' });
    assert.equal(withModel.statusCode, 201);
    assert.equal(withModel.json().dim, 64);
    assert.equal(withModel.json().model.name, 'fmnist-embed-mf');
    assert.equal(withModel.json().index.type, 'hnsw');
    assert.deepEqual(
      (await call('GET', '/v1/collections')).json().data.map((c: { name: string }) => c.name),
      ['images', 'vectors'],
    );
    assert.equal((await call('POST', '/v1/collections', { name: 'images', dim: 2 })).statusCode, 409);
    assert.equal((await call('DELETE', '/v1/collections/images')).statusCode, 204);
    assert.equal((await call('GET', '/v1/collections/images')).statusCode, 404);
    assert.equal((await call('DELETE', '/v1/collections/images')).statusCode, 404);
    const deleted = await call('DELETE', '/v1/collections/vectors');
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.headers['meanserve-sequence'], '4');
    // The sequence of the last deletion is kept, so numbering never goes back after a restart.
    assert.deepEqual(await readdir(join(app.config.dataDir, 'collections')), ['SEQUENCE']);
  });

  it('refuses bad collection definitions', async () => {
    const cases: Array<[object, number]> = [
      [{ name: '../escape', dim: 3 }, 400],
      [{ name: 'a', dim: 3, model: 'fmnist-embed-mf' }, 400],
      [{ name: 'a' }, 400],
      [{ name: 'a', dim: 0 }, 400],
      [{ name: 'a', dim: 3, metric: 'hamming' }, 400],
      [{ name: 'a', dim: 3, index: { type: 'hnsw', m: 1 } }, 400],
      [{ name: 'a', model: 'no-such-model' }, 404],
      [{ name: 'a', model: 'fmnist-classifier' }, 422],
    ];
    for (const [body, status] of cases) {
      const response = await call('POST', '/v1/collections', body);
      assert.equal(response.statusCode, status, `${JSON.stringify(body)}: ${response.body}`);
    }
    assert.equal((await call('GET', '/v1/collections')).json().data.length, 0);
    await assertLive(app);
  });

  for (const index of ['flat', 'hnsw'] as const) {
    it(`upserts, reads, deletes and searches points (${index})`, async () => {
      const name = `points-${index}`;
      await call('POST', '/v1/collections', { name, dim: 2, metric: 'cosine', index: { type: index } });
      const points = [
        { id: 'east', vector: [2, 0], payload: { side: 'right', n: 1 } },
        { id: 'north', vector: [0, 3], payload: { side: 'up', n: 2 } },
        { id: 'north-east', vector: [1, 1], payload: { side: 'right', n: 3 } },
        { id: 'west', vector: [-1, 0], payload: { side: 'left', n: 4 } },
      ];
      const upserted = await call('PUT', `/v1/collections/${name}/points`, { points });
      assert.equal(upserted.statusCode, 200, upserted.body);
      assert.deepEqual(
        { ...(upserted.json() as object), sequence: undefined },
        { upserted: 4, count: 4, sequence: undefined },
      );
      assert.equal(typeof upserted.json().sequence, 'number');
      const east = (await call('GET', `/v1/collections/${name}/points/east`)).json();
      assert.deepEqual(east, { id: 'east', vector: [1, 0], payload: { side: 'right', n: 1 } });

      const search = (body: object) => call('POST', `/v1/collections/${name}/search`, body);
      const byVector = (await search({ vector: [1, 0.1], k: 3 })).json();
      assert.deepEqual(
        byVector.results.map((r: { id: string }) => r.id),
        ['east', 'north-east', 'north'],
      );
      assert.ok(Math.abs(byVector.results[0].score - 1 / Math.hypot(1, 0.1)) < 1e-6);
      assert.equal(typeof byVector.took_ms, 'number');
      // By id: the point itself is left out.
      const byId = (await search({ id: 'east', k: 2 })).json();
      assert.deepEqual(
        byId.results.map((r: { id: string }) => r.id),
        ['north-east', 'north'],
      );
      const filtered = (await search({ vector: [1, 0], k: 4, filter: { side: 'right' } })).json();
      assert.deepEqual(
        filtered.results.map((r: { id: string }) => r.id),
        ['east', 'north-east'],
      );
      const inList = (await search({ vector: [1, 0], k: 4, filter: { n: { in: [2, 4] } } })).json();
      assert.deepEqual(
        inList.results.map((r: { id: string }) => r.id),
        ['north', 'west'],
      );
      assert.equal((await search({ vector: [1, 0], k: 1000 })).json().results.length, 4);
      const bare = (await search({ vector: [1, 0], k: 1, with_payload: false })).json();
      assert.deepEqual(bare.results[0].payload, null);

      // Same id replaces; delete removes.
      await call('PUT', `/v1/collections/${name}/points`, { points: [{ id: 'east', vector: [0, -1] }] });
      assert.deepEqual((await call('GET', `/v1/collections/${name}/points/east`)).json().vector, [0, -1]);
      assert.equal((await call('DELETE', `/v1/collections/${name}/points/west`)).statusCode, 204);
      assert.equal((await call('DELETE', `/v1/collections/${name}/points/west`)).statusCode, 404);
      assert.equal((await call('GET', `/v1/collections/${name}/points/west`)).statusCode, 404);
      const after = (await search({ vector: [-1, 0], k: 10 })).json();
      assert.deepEqual(after.results.map((r: { id: string }) => r.id).sort(), [
        'east',
        'north',
        'north-east',
      ]);
      const info = (await call('GET', `/v1/collections/${name}`)).json();
      assert.equal(info.count, 3);
      assert.deepEqual(info.payload_fields, ['n', 'side']);

      const batch = await call('POST', `/v1/collections/${name}/search/batch`, {
        queries: [
          { vector: [0, 1], k: 1 },
          { id: 'north', k: 1 },
        ],
      });
      assert.equal(batch.statusCode, 200, batch.body);
      assert.deepEqual(
        batch.json().results.map((hits: Array<{ id: string }>) => hits.map((h) => h.id)),
        [['north'], ['north-east']],
      );
    });
  }

  it('refuses bad points and leaves the collection untouched', async () => {
    await call('POST', '/v1/collections', { name: 'strict', dim: 3 });
    await call('PUT', '/v1/collections/strict/points', { points: [{ id: 'keep', vector: [1, 2, 3] }] });
    const cases: Array<[object, number, string]> = [
      [
        {
          points: [
            { id: 'a', vector: [1, 2, 3] },
            { id: 'b', vector: [1, 2] },
          ],
        },
        400,
        '/body/points/1/vector',
      ],
      [
        {
          points: [
            { id: 'a', vector: [1, 2, 3] },
            { id: 'b', vector: [1, 1e39, 3] },
          ],
        },
        400,
        '/body/points/1/vector/1',
      ],
      [{ points: [{ id: 'a', vector: [0, 0, 0] }] }, 400, '/body/points/0/vector'],
      [{ points: [{ id: 'a' }] }, 400, '/body/points/0'],
      [{ points: [{ id: 'a', vector: [1, 2, 3], image: png(0) }] }, 400, '/body/points/0/image'],
      [{ points: [{ id: 'a', vector: ['1', 2, 3] }] }, 400, '/body/points/0/vector/0'],
      [{ points: [] }, 400, '/body/points'],
      [{ points: [{ id: '', vector: [1, 2, 3] }] }, 400, '/body/points/0/id'],
      [{ points: [{ id: 'a', image: png(0) }] }, 422, '/body/points/0/image'],
      [{ model: 'fmnist-embed-mf', points: [{ id: 'a', vector: [1, 2, 3] }] }, 422, '/body/model'],
      // Text neither store can hold: U+0000 and lone surrogates, in ids, payload values and keys.
      [{ points: [{ id: 'a\u0000b', vector: [1, 2, 3] }] }, 400, '/body/points/0/id'],
      [
        { points: [{ id: 'a', vector: [1, 2, 3], payload: { tags: ['ok', 'x\ud800'] } }] },
        400,
        '/body/points/0/payload/tags/1',
      ],
      [
        { points: [{ id: 'a', vector: [1, 2, 3], payload: { 'a/\udc00': 1 } }] },
        400,
        '/body/points/0/payload/a~1',
      ],
    ];
    for (const [body, status, path] of cases) {
      const response = await call('PUT', '/v1/collections/strict/points', body);
      assert.equal(response.statusCode, status, `${JSON.stringify(body).slice(0, 90)}: ${response.body}`);
      assert.ok(
        problemPaths(response).some((p: string) => p.startsWith(path)),
        `${problemPaths(response)} vs ${path}`,
      );
    }
    assert.equal((await call('GET', '/v1/collections/strict')).json().count, 1);
    assert.equal((await call('GET', '/v1/collections/strict/points/a')).statusCode, 404);
    assert.equal(
      (await call('PUT', '/v1/collections/missing/points', { points: [{ id: 'a', vector: [1] }] }))
        .statusCode,
      404,
    );
    await assertLive(app);
  });

  it("reads and deletes every point it takes by the point's URL, as fetch encodes it, and refuses ids no URL names", async () => {
    const base = await listen(app);
    await call('POST', '/v1/collections', { name: 'ids', dim: 2 });
    // The longest ids: 256 characters, 2 304 when percent-encoded (Fastify's default of 100 answered 414).
    const ids = [
      'a/b',
      'a?b#c',
      '%2F',
      '100%',
      'a+b c',
      'ü',
      '😀',
      'x'.repeat(256),
      '€'.repeat(256),
      '😀'.repeat(128),
    ];
    const put = await call('PUT', '/v1/collections/ids/points', {
      points: ids.map((id, at) => ({ id, vector: [1, at] })),
    });
    assert.equal(put.statusCode, 200, put.body);
    for (const id of ids) {
      const url = `${base}/v1/collections/ids/points/${encodeURIComponent(id)}`;
      const read = await fetch(url);
      assert.equal(read.status, 200, `GET ${id.slice(0, 20)}: ${read.status}`);
      assert.equal((await read.json()).id, id);
      const removed = await fetch(url, { method: 'DELETE' });
      assert.equal(removed.status, 204, `DELETE ${id.slice(0, 20)}: ${removed.status}`);
    }
    assert.equal((await call('GET', '/v1/collections/ids')).json().count, 0);
    // fetch and curl resolve a path segment '.' or '..' (percent-encoded too): no URL could name these.
    const dots = await call('PUT', '/v1/collections/ids/points', {
      points: [
        { id: '.', vector: [1, 0] },
        { id: '..', vector: [1, 0] },
      ],
    });
    assert.equal(dots.statusCode, 400, dots.body);
    assert.deepEqual(problemPaths(dots), ['/body/points/0/id', '/body/points/1/id']);
    assert.equal((await call('GET', '/v1/collections/ids')).json().count, 0);
  });

  it('refuses payload integers a double would change, and returns those it holds exactly as they were sent', async () => {
    await call('POST', '/v1/collections', { name: 'exact', dim: 3 });
    // Written as text: a JavaScript object could not even hold these literals.
    const upsert = (payload: string) =>
      app.inject({
        method: 'PUT',
        url: '/v1/collections/exact/points',
        headers: { 'content-type': 'application/json' },
        payload: `{"points": [{"id": "a", "vector": [1, 2, 3]}, {"id": "b", "vector": [3, 2, 1], "payload": ${payload}}]}`,
      });
    for (const [payload, path] of [
      ['{"snowflake": 1234567890123456789}', '/body/points/1/payload/snowflake'],
      ['{"hashes": [1, 18446744073709551615]}', '/body/points/1/payload/hashes/1'],
    ]) {
      const refused = await upsert(payload as string);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.deepEqual(problemPaths(refused), [path]);
      assert.match(refused.json().detail, /more digits than a 64-bit float holds/);
    }
    assert.equal((await call('GET', '/v1/collections/exact')).json().count, 0);
    const kept =
      '{"snowflake":"1234567890123456789","largest":9007199254740991,"float":12345678901234567000}';
    assert.equal((await upsert(kept)).statusCode, 200);
    const point = await call('GET', '/v1/collections/exact/points/b');
    assert.ok(point.body.includes(`"payload":${kept}`), point.body);
  });

  it('refuses bad searches', async () => {
    const cases: Array<[object, number, string]> = [
      [{ vector: [1, 2, 3], k: 0 }, 400, '/body/k'],
      [{ vector: [1, 2, 3], k: 1001 }, 400, '/body/k'],
      [{ k: 3 }, 400, '/body'],
      [{ vector: [1, 2, 3], id: 'keep' }, 400, '/body/id'],
      [{ vector: [1, 2] }, 400, '/body/vector'],
      [{ vector: [1, 2, 3], filter: { colour: 'red' } }, 400, '/body/filter/colour'],
      [{ vector: [1, 2, 3], filter: { colour: { in: [] } } }, 400, '/body/filter'],
      [{ vector: [1, 2, 3], filter: { ['f'.repeat(129)]: 1 } }, 400, `/body/filter/${'f'.repeat(129)}`],
      [{ vector: [1, 2, 3], ef: 0 }, 400, '/body/ef'],
      [{ id: 'nobody' }, 404, ''],
      [{ image: png(0) }, 422, '/body/image'],
      [{ vector: [1, 2, 3], model: 'fmnist-embed-baseline' }, 422, '/body/model'],
    ];
    for (const [body, status, path] of cases) {
      const response = await call('POST', '/v1/collections/strict/search', body);
      assert.equal(response.statusCode, status, `${JSON.stringify(body).slice(0, 90)}: ${response.body}`);
      if (path !== '')
        assert.ok(
          problemPaths(response).some((p: string) => p.startsWith(path)),
          `${problemPaths(response)} vs ${path}`,
        );
    }
    const batch = await call('POST', '/v1/collections/strict/search/batch', {
      queries: [{ vector: [1, 2, 3] }, { vector: [1] }],
    });
    assert.equal(batch.statusCode, 400);
    assert.ok(problemPaths(batch).includes('/body/queries/1/vector'));
    assert.equal((await call('POST', '/v1/collections/missing/search', { vector: [1] })).statusCode, 404);
    await assertLive(app);
  });

  it('bounds payloads: 64 KiB a point, 32 MiB in one answer (413 naming the query where it passes)', async () => {
    assert.equal((await call('POST', '/v1/collections', { name: 'heavy', dim: 2 })).statusCode, 201);
    const oversized = await call('PUT', '/v1/collections/heavy/points', {
      points: [{ id: 'big', vector: [1, 0], payload: { text: 'x'.repeat(70_000) } }],
    });
    assert.equal(oversized.statusCode, 400, oversized.body);
    assert.deepEqual(problemPaths(oversized), ['/body/points/0/payload']);
    // Three points of 60 KB each: found by 256 queries at once, 46 MB of payloads.
    const points = [0, 1, 2].map((i) => ({
      id: `p${i}`,
      vector: [1, i],
      payload: { text: 'y'.repeat(60_000) },
    }));
    assert.equal((await call('PUT', '/v1/collections/heavy/points', { points })).statusCode, 200);
    const queries = (withPayload: boolean) =>
      Array.from({ length: 256 }, () => ({ vector: [1, 1], k: 3, with_payload: withPayload }));
    const refused = await call('POST', '/v1/collections/heavy/search/batch', { queries: queries(true) });
    assert.equal(refused.statusCode, 413, refused.body.slice(0, 300));
    assert.equal(refused.json().type, 'urn:meanserve:problem:too-large');
    const at = Math.floor((32 * 1024 * 1024) / (3 * 60_008));
    assert.deepEqual(problemPaths(refused), [`/body/queries/${at}/k`]);
    const ids = await call('POST', '/v1/collections/heavy/search/batch', { queries: queries(false) });
    assert.equal(ids.statusCode, 200);
    const one = await call('POST', '/v1/collections/heavy/search', {
      vector: [1, 1],
      k: 3,
      with_payload: true,
    });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().results[0].payload.text.length, 60_000);
    assert.equal((await call('DELETE', '/v1/collections/heavy')).statusCode, 204);
  });

  it('embeds images with the collection model and finds an image by itself', async () => {
    await call('POST', '/v1/collections', { name: 'pictures', model: 'fmnist-embed-mf' });
    const points = Array.from({ length: 20 }, (_, i) => ({
      id: `img-${i}`,
      image: png(i),
      payload: { label: demo.labels[i] },
    }));
    const upserted = await call('PUT', '/v1/collections/pictures/points', { points });
    assert.equal(upserted.statusCode, 200, upserted.body);
    const metrics = (await call('GET', '/metrics')).body;
    assert.match(metrics, /meanserve_collection_points\{collection="pictures"\} 20/);
    const found = (
      await call('POST', '/v1/collections/pictures/search', { image: png(7), k: 1, model: 'fmnist-embed-mf' })
    ).json();
    const wrongModel = await call('POST', '/v1/collections/pictures/search', {
      vector: new Array(64).fill(0.1),
      model: 'fmnist-embed-baseline',
    });
    assert.equal(wrongModel.statusCode, 422);
    assert.equal(found.results[0].id, 'img-7');
    assert.ok(found.results[0].score > 0.9999);
    const vector = (await call('GET', '/v1/collections/pictures/points/img-7')).json().vector;
    const embedded = (
      await app.inject({ method: 'POST', url: '/v1/embeddings', payload: { input: [png(7)] } })
    ).json();
    assert.ok(
      Math.max(...vector.map((v: number, i: number) => Math.abs(v - embedded.data[0].embedding[i]))) < 1e-6,
    );
  });

  it('comes back identical after a restart', async () => {
    const queries = [
      { vector: [0.3, -0.2, 0.9], k: 5 },
      { id: 'keep', k: 5 },
    ];
    await call('POST', '/v1/collections', { name: 'durable', dim: 3, index: { type: 'hnsw', m: 8 } });
    const points = Array.from({ length: 300 }, (_, i) => ({
      id: `p${i}`,
      vector: [Math.sin(i), Math.cos(i * 1.7), Math.sin(i * 0.3) + 0.1],
      payload: { parity: i % 2 },
    }));
    await call('PUT', '/v1/collections/durable/points', { points });
    await call('DELETE', '/v1/collections/durable/points/p3');
    const searches: Record<string, object[]> = {
      durable: [queries[0] as object, { vector: [1, 0, 0], k: 7, filter: { parity: 1 } }],
      strict: queries,
      pictures: [{ id: 'img-3', k: 5 }],
    };
    const state = (server: FastifyInstance) =>
      Promise.all(
        Object.entries(searches).map(async ([name, batch]) => ({
          info: (await server.inject({ method: 'GET', url: `/v1/collections/${name}` })).json(),
          search: (
            await server.inject({
              method: 'POST',
              url: `/v1/collections/${name}/search/batch`,
              payload: { queries: batch },
            })
          ).json().results,
        })),
      );
    const before = await state(app);
    // One process at a time on a DATA_DIR (the job store is locked): the first stops, as a restart does.
    await app.close();
    const reopened = await buildApp(app.config);
    await reopened.ready();
    await reopened.models.loaded();
    try {
      const after = await state(reopened);
      assert.deepEqual(after, before);
      assert.equal(after[0]?.info.count, 299);
    } finally {
      await reopened.close();
    }
  });
});
