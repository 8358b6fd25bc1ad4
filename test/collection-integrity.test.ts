// Damaged collection files, as a disk or an operator leaves them: 4 KB of the HNSW graph overwritten, the file
// truncated, one bit of one stored vector flipped. At start each is reported (readiness 503 naming it, describe
// with state damaged), never served and never overwritten by a create; searches of the healthy collections
// go on (1 000 of them, in this process: a graph handed to hnswlib unchecked used to crash it); recovery
// restores every point that passed its checksum and keeps the damaged file aside. Also: temporary files a
// crash left are removed at start, and a file of the first, unchecked layout is carried over.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { Random } from '../src/lib/random.js';
import { buildApp } from '../src/server/app.js';
import { assertLive, testConfig } from './helpers/app.js';

const DIM = 16;
const POINTS = 1500;
const SEARCHES = 1000;

interface Layout {
  /** Byte offset and length of each section: checksums, vectors, graph. */
  sections: Array<{ start: number; bytes: number }>;
}

/** Where the sections of a checksummed collection file lie (magic 8 · length 4 · digest 32 · header). */
function layout(file: Buffer): Layout {
  const headerLength = file.readUInt32LE(8);
  const headerStart = 8 + 4 + 32;
  const header = JSON.parse(file.toString('utf8', headerStart, headerStart + headerLength));
  let start = headerStart + headerLength;
  const sections = (header.sections as Array<{ bytes: number }>).map(({ bytes }) => {
    const section = { start, bytes };
    start += bytes;
    return section;
  });
  return { sections };
}

function pointsOf(seed: number) {
  const random = new Random(seed);
  return Array.from({ length: POINTS }, (_, i) => ({
    id: `p-${i}`,
    vector: Array.from({ length: DIM }, () => random.nextNormal()),
    payload: { index: i, parity: i % 2 === 0 ? 'even' : 'odd' },
  }));
}

describe('damaged collection files', () => {
  let config: Config;
  let app: FastifyInstance;
  const originals = new Map<string, ReturnType<typeof pointsOf>>();
  const path = (name: string) => join(config.dataDir, 'collections', `${name}.collection`);
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

  before(async () => {
    config = await testConfig();
    const writer = await buildApp(config, { loadModels: false });
    await writer.ready();
    for (const [seed, name] of ['healthy', 'graph', 'truncated', 'bitflip'].entries()) {
      const created = await writer.inject({
        method: 'POST',
        url: '/v1/collections',
        payload: { name, dim: DIM, metric: 'cosine', index: { type: 'hnsw' } },
      });
      assert.equal(created.statusCode, 201);
      const points = pointsOf(seed);
      originals.set(name, points);
      for (let start = 0; start < POINTS; start += 500) {
        const upserted = await writer.inject({
          method: 'PUT',
          url: `/v1/collections/${name}/points`,
          payload: { points: points.slice(start, start + 500) },
        });
        assert.equal(upserted.statusCode, 200);
      }
    }
    await writer.close();

    // (a) 4 KB of the graph overwritten with noise.
    const graphFile = await readFile(path('graph'));
    const graph = layout(graphFile).sections[2] as { start: number; bytes: number };
    assert.ok(graph.bytes > 3 * 4096);
    const noise = new Random(99);
    for (let i = 0; i < 4096; i++)
      graphFile[graph.start + graph.bytes / 2 + i] = Math.floor(noise.nextUniform() * 256);
    await writeFile(path('graph'), graphFile);
    // (b) cut in the middle of the vector of point 1000.
    const vectors = layout(await readFile(path('truncated'))).sections[1] as { start: number };
    await truncate(path('truncated'), vectors.start + 1000 * DIM * 4 + 7);
    // (c) one bit of one coordinate of point 17.
    const flipFile = await readFile(path('bitflip'));
    const flipAt = (layout(flipFile).sections[1] as { start: number }).start + 17 * DIM * 4 + 5;
    flipFile.writeUInt8((flipFile.readUInt8(flipAt) ^ 0b100) & 0xff, flipAt);
    await writeFile(path('bitflip'), flipFile);
    // Left by a crash during a save, and by one during an HNSW scratch write.
    await writeFile(`${path('healthy')}.tmp-0b7e`, 'half a file');
    await writeFile(join(config.dataDir, 'collections', 'hnsw.tmp-5c1d'), 'scratch');

    app = await buildApp(config, { loadModels: false });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await rm(config.dataDir, { recursive: true, force: true });
  });

  it('names every damaged collection in readiness and describes it as damaged', async () => {
    const ready = await app.inject('/health/ready');
    assert.equal(ready.statusCode, 503);
    const reasons: string[] = ready.json().reasons;
    assert.ok(
      reasons.some((reason) => /^collection graph: damaged: section 2 does not match/.test(reason)),
      String(reasons),
    );
    assert.ok(
      reasons.some((reason) => /^collection truncated: damaged: section 1 is truncated/.test(reason)),
    );
    assert.ok(
      reasons.some((reason) => /^collection bitflip: damaged: section 1 does not match/.test(reason)),
    );
    const described = (await app.inject('/v1/collections/graph')).json();
    assert.equal(described.state, 'damaged');
    const list = (await app.inject('/v1/collections')).json();
    assert.deepEqual(
      list.data.map((c: { name: string }) => c.name),
      ['healthy'],
    );
    assert.deepEqual(
      list.damaged.map((c: { name: string }) => c.name),
      ['bitflip', 'graph', 'truncated'],
    );
    const metrics = await app.inject('/metrics');
    assert.match(metrics.body, /^meanserve_collections_damaged 3$/m);
  });

  it('removed the temporary files a crash left', async () => {
    const files = await readdir(join(config.dataDir, 'collections'));
    assert.deepEqual(
      files.filter((file) => file.includes('.tmp-')),
      [],
    );
  });

  it('serves 1 000 searches of the healthy collection and refuses the damaged ones with 409', async () => {
    const healthy = originals.get('healthy') as ReturnType<typeof pointsOf>;
    for (let i = 0; i < SEARCHES; i++) {
      const query = healthy[i % POINTS] as { id: string; vector: number[] };
      const response = await post('/v1/collections/healthy/search', { vector: query.vector, k: 3 });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().results[0].id, query.id);
    }
    for (const name of ['graph', 'truncated', 'bitflip']) {
      const search = await post(`/v1/collections/${name}/search`, { vector: Array(DIM).fill(1), k: 3 });
      assert.equal(search.statusCode, 409);
      assert.match(search.json().detail, new RegExp(`collection '${name}' is damaged.*recover`));
      assert.equal((await app.inject(`/v1/collections/${name}/points/p-1`)).statusCode, 409);
    }
    await assertLive(app);
  });

  it('refuses to create a collection over a damaged one, leaving its file as it was', async () => {
    const before = await readFile(path('truncated'));
    const created = await post('/v1/collections', { name: 'truncated', dim: DIM });
    assert.equal(created.statusCode, 409);
    assert.deepEqual(await readFile(path('truncated')), before);
  });

  it('recovers every intact point, keeps the damaged file aside, and serves again', async () => {
    const expected: Record<string, { recovered: number; lost: number }> = {
      graph: { recovered: POINTS, lost: 0 },
      truncated: { recovered: 1000, lost: POINTS - 1000 },
      bitflip: { recovered: POINTS - 1, lost: 1 },
    };
    for (const [name, counts] of Object.entries(expected)) {
      const damagedBytes = await readFile(path(name));
      const response = await post(`/v1/collections/${name}/recover`, {});
      assert.equal(response.statusCode, 200, response.body);
      const report = response.json();
      assert.deepEqual({ recovered: report.recovered, lost: report.lost }, counts, name);
      assert.equal(report.collection.count, counts.recovered);
      assert.deepEqual(await readFile(join(config.dataDir, 'collections', report.kept_aside)), damagedBytes);
      // Every recovered point is the one that was written: same payload, same vector (as stored, unit length).
      const points = originals.get(name) as ReturnType<typeof pointsOf>;
      for (const index of [0, 16, 18, 999, POINTS - 1]) {
        const point = points[index] as { id: string; vector: number[]; payload: object };
        const read = await app.inject(`/v1/collections/${name}/points/${point.id}`);
        const survived = !(name === 'bitflip' && index === 17) && !(name === 'truncated' && index >= 1000);
        assert.equal(read.statusCode, survived ? 200 : 404, `${name} ${point.id}`);
        if (!survived) continue;
        assert.deepEqual(read.json().payload, point.payload);
        const norm = Math.hypot(...point.vector);
        read.json().vector.forEach((value: number, i: number) => {
          assert.ok(Math.abs(value - (point.vector[i] as number) / norm) < 1e-6);
        });
        const search = await post(`/v1/collections/${name}/search`, { vector: point.vector, k: 1 });
        assert.equal(search.json().results[0].id, point.id);
      }
      assert.equal(
        (await app.inject(`/v1/collections/${name}/points/p-17`)).statusCode,
        name === 'bitflip' ? 404 : 200,
      );
    }
    // Models are not loaded in this app: readiness names them, and no collection any more.
    const reasons: string[] = (await app.inject('/health/ready')).json().reasons;
    assert.deepEqual(
      reasons.filter((reason) => reason.startsWith('collection')),
      [],
    );
    assert.equal((await post('/v1/collections/healthy/recover', {})).statusCode, 409);
  });

  it('keeps recovered collections across a restart', async () => {
    await app.close();
    app = await buildApp(config, { loadModels: false });
    await app.ready();
    for (const [name, count] of [
      ['graph', POINTS],
      ['truncated', 1000],
      ['bitflip', POINTS - 1],
    ] as const) {
      const described = (await app.inject(`/v1/collections/${name}`)).json();
      assert.equal(described.state, 'ready');
      assert.equal(described.count, count);
    }
  });
});

describe('a damaged collection deleted', () => {
  it('keeps its file aside and frees the name', async () => {
    const config = await testConfig();
    const writer = await buildApp(config, { loadModels: false });
    await writer.inject({ method: 'POST', url: '/v1/collections', payload: { name: 'gone', dim: 4 } });
    await writer.close();
    const file = join(config.dataDir, 'collections', 'gone.collection');
    await writeFile(file, (await readFile(file)).subarray(0, 30));
    const app = await buildApp(config, { loadModels: false });
    try {
      assert.equal((await app.inject('/v1/collections/gone')).json().state, 'damaged');
      // Not even the header survived: there is nothing to recover.
      const recover = await app.inject({ method: 'POST', url: '/v1/collections/gone/recover', payload: {} });
      assert.equal(recover.statusCode, 422);
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/collections/gone' })).statusCode, 204);
      const files = await readdir(join(config.dataDir, 'collections'));
      assert.equal(files.filter((name) => name.startsWith('gone.collection.damaged-')).length, 1);
      const created = await app.inject({
        method: 'POST',
        url: '/v1/collections',
        payload: { name: 'gone', dim: 4 },
      });
      assert.equal(created.statusCode, 201);
      assert.equal(
        (await app.inject('/health/ready')).json().reasons.some((r: string) => /gone/.test(r)),
        false,
      );
    } finally {
      await app.close();
      await rm(config.dataDir, { recursive: true, force: true });
    }
  });
});

describe('a collection file of the first layout (no checksums)', () => {
  it('is served with its graph rebuilt from the vectors and rewritten with checksums', async () => {
    const config = await testConfig();
    const dir = join(config.dataDir, 'collections');
    await mkdir(dir, { recursive: true });
    const vectors = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]);
    const header = {
      config: {
        name: 'old',
        dim: 4,
        metric: 'l2',
        index: { type: 'hnsw', m: 16, ef_construction: 200, ef_search: 64 },
        created_at: '2026-11-01T00:00:00.000Z',
      },
      slots: [
        ['a', { colour: 'red' }],
        ['b', null],
      ],
      applied_jobs: [],
    };
    // The graph section is noise: it must never reach hnswlib.
    const graph = Buffer.alloc(512, 0xab);
    const json = Buffer.from(JSON.stringify({ ...header, sections: [vectors.byteLength, graph.length] }));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const file = join(dir, 'old.collection');
    await writeFile(
      file,
      Buffer.concat([Buffer.from('MSCOLL1\n'), length, json, Buffer.from(vectors.buffer), graph]),
    );
    const app = await buildApp(config, { loadModels: false });
    try {
      const search = await app.inject({
        method: 'POST',
        url: '/v1/collections/old/search',
        payload: { vector: [0, 0.9, 0, 0], k: 2 },
      });
      assert.deepEqual(
        search.json().results.map((hit: { id: string }) => hit.id),
        ['b', 'a'],
      );
      assert.equal((await readFile(file)).toString('latin1', 0, 8), 'MSCOLL2\n');
    } finally {
      await app.close();
      await rm(config.dataDir, { recursive: true, force: true });
    }
  });
});
