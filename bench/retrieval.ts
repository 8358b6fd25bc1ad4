// Retrieval benchmark, one run against one meanserve child process (the full Fashion-MNIST dataset from
// Debian's dataset-fashion-mnist is required):
// 1. embeddings/s: one image per request one at a time (the unbatched baseline), one image per request
//    from 32 concurrent clients (the server's micro-batcher combines them), 64 images per request;
// 2. the 60 000 training images indexed through collections.index into an HNSW and an exact (flat)
//    collection; search q/s and p50/p99 latency for both on the same 1 000 test-image queries, and HNSW
//    recall@10 against the exact results at several ef;
// 3. quality through the API: the 10 000 test images indexed with each served embedding model, every image
//    searching the others (k = R = 999), P@1 and MAP@R against the offline numbers in the manifest.
// With --baseline <dir>, another checkout of meanserve (an earlier commit, its dependencies installed) is
// started beside this one and the unbatched row is measured on both, in alternating rounds. Both are
// compiled first and run as they ship (as bench/http.ts runs meanserve): under tsx every function a request
// creates also gets its name set at run time, a cost per request that no deployment pays.
//    npm run bench:retrieval [-- --json results.json] [-- --baseline /tmp/meanserve-before]
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { encodeGreyPng } from '../src/lib/png-encode.js';
import { type LabelledImages, readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { apiRetrievalMetrics } from '../src/retrieval/quality-metrics.js';
import { buildMeanserve, startMeanserve, stopAllServers, stopServer } from './server-process.js';
import { median } from './statistics.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({ options: { json: { type: 'string' }, baseline: { type: 'string' } } });
const BASELINE_ROUNDS = 5;
const datasetDir = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

interface Timing {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

let base = '';

const call = <T>(method: string, path: string, body?: unknown) => callAt<T>(base, method, path, body);

async function callAt<T>(server: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;

/** Runs `count` calls of `work(i)` from `concurrency` clients; per-call latency and items per second. */
async function load(
  count: number,
  concurrency: number,
  itemsPerCall: number,
  work: (i: number) => Promise<unknown>,
) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        await work(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: (count * itemsPerCall) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  } satisfies Timing;
}

const pngOf = (images: LabelledImages, index: number) =>
  encodeGreyPng(images.pixels.subarray(index * 784, (index + 1) * 784), 28, 28).toString('base64');

/** Images/s of one autocannon connection sending the same one-image request for `seconds`. */
async function autocannonImagesPerSecond(server: string, body: string, seconds: number): Promise<number> {
  const result = await autocannon({
    url: `${server}/v1/embeddings`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: 1,
    duration: seconds,
  });
  assert.equal(result.non2xx + result.errors + result.timeouts, 0, `${server}: failed requests`);
  return result.requests.total / result.duration;
}

/**
 * One image a request from one client, on this server and on the baseline checkout's, in alternating
 * rounds (each server warmed up first): 500 requests from this process's `fetch` (as the rows above), then
 * 3 s of one autocannon connection, which spends less CPU a request on the client side of the two shared
 * cores. The median round of each, and their ratios.
 */
async function unbatchedAgainstBaseline(pngs: string[], baselineRoot: string) {
  const baseline = await startMeanserve({}, { root: baselineRoot, script: buildMeanserve(baselineRoot) });
  try {
    const servers = { current: base, baseline: baseline.base };
    const rounds = {
      current: { fetch: [] as number[], autocannon: [] as number[] },
      baseline: { fetch: [] as number[], autocannon: [] as number[] },
    };
    const body = JSON.stringify({ input: [pngs[0]] });
    for (let round = -1; round < BASELINE_ROUNDS; round++) {
      for (const which of ['current', 'baseline'] as const) {
        const one = (i: number) =>
          callAt(servers[which], 'POST', '/v1/embeddings', { input: [pngs[i % pngs.length]] });
        const timing = await load(round < 0 ? 200 : 500, 1, 1, one);
        const cannon = await autocannonImagesPerSecond(servers[which], body, round < 0 ? 1 : 3);
        if (round >= 0) {
          rounds[which].fetch.push(timing.perSecond);
          rounds[which].autocannon.push(cannon);
        }
      }
    }
    const summary = (client: 'fetch' | 'autocannon') => {
      const current = median(rounds.current[client]);
      const before = median(rounds.baseline[client]);
      return { current, baseline: before, ratio: current / before };
    };
    return { fetch: summary('fetch'), autocannon: summary('autocannon'), rounds };
  } finally {
    await stopServer(baseline.child);
    await rm(baseline.dataDir, { recursive: true, force: true });
  }
}

async function indexCollection(name: string, model: string, index: 'hnsw' | 'flat', split: 'train' | 'test') {
  await call('POST', '/v1/collections', { name, model, index: { type: index } });
  const started = performance.now();
  const job = await call<{ id: string }>('POST', '/v1/jobs', {
    type: 'collections.index',
    params: { collection: name, source: { split } },
  });
  const expected = split === 'train' ? 60_000 : 10_000;
  for (;;) {
    const record = await call<{ state: string; error?: string }>('GET', `/v1/jobs/${job.id}`);
    assert.notEqual(record.state, 'failed', record.error);
    const info = await call<{ count: number }>('GET', `/v1/collections/${name}`);
    if (info.count === expected) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return (performance.now() - started) / 1000;
}

async function embedVectors(images: LabelledImages, count: number): Promise<number[][]> {
  const vectors: number[][] = [];
  for (let start = 0; start < count; start += 256) {
    const input = Array.from({ length: Math.min(256, count - start) }, (_, i) => pngOf(images, start + i));
    const reply = await call<{ data: Array<{ embedding: number[] }> }>('POST', '/v1/embeddings', { input });
    vectors.push(...reply.data.map((item) => item.embedding));
  }
  return vectors;
}

type Hits = Array<{ id: string; payload: { label: number } }>;

const apiQuality = (collection: string, labels: Uint8Array) =>
  apiRetrievalMetrics(
    labels,
    async (queries) =>
      (await call<{ results: Hits[] }>('POST', `/v1/collections/${collection}/search/batch`, { queries }))
        .results,
    64,
  );

async function main(): Promise<void> {
  const test = await readFashionMnist(datasetDir, 'test');
  const meanserve = await startMeanserve({}, { script: buildMeanserve() });
  base = meanserve.base;
  const { dataDir } = meanserve;
  const results: Record<string, unknown> = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
  };
  try {
    // 1. Embeddings.
    const pngs = Array.from({ length: 2048 }, (_, i) => pngOf(test, i));
    const one = (i: number) => call('POST', '/v1/embeddings', { input: [pngs[i % pngs.length]] });
    await load(200, 8, 1, one); // warm-up
    const embedding = {
      unbatched: await load(500, 1, 1, one),
      microBatched: await load(4000, 32, 1, one),
      clientBatched: await load(64, 2, 64, (i) =>
        call('POST', '/v1/embeddings', { input: pngs.slice((i * 64) % 1984, ((i * 64) % 1984) + 64) }),
      ),
      ...(flags.baseline === undefined
        ? {}
        : { unbatchedAgainstBaseline: await unbatchedAgainstBaseline(pngs, flags.baseline) }),
    };
    results.embedding = embedding;
    console.log('embeddings/s', JSON.stringify(embedding));

    // 2. Search on 60 000 training-image embeddings.
    const indexSeconds = {
      hnsw: await indexCollection('train-hnsw', 'fmnist-embed-mf', 'hnsw', 'train'),
      flat: await indexCollection('train-flat', 'fmnist-embed-mf', 'flat', 'train'),
    };
    const queries = await embedVectors(test, 1000);
    const search = async (collection: string, ef?: number) => {
      const found: string[][] = [];
      const timing = await load(queries.length, 4, 1, async (i) => {
        const reply = await call<{ results: Hits }>('POST', `/v1/collections/${collection}/search`, {
          vector: queries[i],
          k: 10,
          ...(ef === undefined ? {} : { ef }),
        });
        found[i] = reply.results.map((hit) => hit.id);
      });
      return { timing, found };
    };
    await search('train-hnsw'); // warm-up
    const exact = await search('train-flat');
    const rows: Array<Record<string, unknown>> = [{ index: 'flat (exact)', ...exact.timing, recallAt10: 1 }];
    for (const ef of [undefined, 16, 32, 128]) {
      const approximate = await search('train-hnsw', ef);
      let hits = 0;
      approximate.found.forEach((ids, i) => {
        const truth = new Set(exact.found[i]);
        hits += ids.filter((id) => truth.has(id)).length;
      });
      rows.push({
        index: `hnsw ef=${ef ?? 'default (64)'}`,
        ...approximate.timing,
        recallAt10: hits / (10 * queries.length),
        ratioToExact: approximate.timing.perSecond / exact.timing.perSecond,
      });
    }
    results.search = { points: 60_000, queries: queries.length, k: 10, concurrency: 4, indexSeconds, rows };
    console.log('search', JSON.stringify(results.search, null, 1));

    // 3. Quality through the API on the full test split.
    const manifest = JSON.parse(await readFile(join(ROOT, 'models/manifest.json'), 'utf8')) as {
      models: Array<{ name: string; metrics: { test?: { precision_at_1: number; map_at_r: number } } }>;
    };
    const quality: Array<Record<string, unknown>> = [];
    for (const model of ['fmnist-embed-mf', 'fmnist-embed-baseline']) {
      const offline = manifest.models.find((entry) => entry.name === model)?.metrics.test;
      for (const index of ['flat', 'hnsw'] as const) {
        const collection = `test-${model}-${index}`;
        await indexCollection(collection, model, index, 'test');
        const measured = await apiQuality(collection, test.labels);
        quality.push({ model, index, api: measured, offline });
      }
    }
    results.quality = quality;
    console.log('quality', JSON.stringify(quality, null, 1));
    if (flags.json) await writeFile(flags.json, `${JSON.stringify(results, null, 1)}\n`);
  } finally {
    await stopAllServers();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
