// Collection stores side by side, in one process on the local PostgreSQL (POSTGRES_URL, default
// postgres://postgres@127.0.0.1:5432; a scratch database is created and dropped):
// 1. upsert points/s: 20 000 random 64-d points in requests of 500 into an HNSW collection (m 16,
//    ef_construction 200), through the file store (the baseline: each write also saves the collection
//    file) and the PostgreSQL store (each write: one transaction, then this replica catches up);
// 2. search q/s: 2 000 k = 10 queries against each store's in-memory index (neither store is asked);
// 3. replica lag, PostgreSQL only: a second store instance (replica B, in this process, following the
//    change log as a replica in another process would) follows replica A while A writes 10 points, waits
//    10 ms, and again, for 10 s; for each write, the time from A's acknowledgement until B reflects it
//    (0 when B already did), p50 and p99.
//    npm run bench:collection-stores [-- --points 20000]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { Random } from '../src/lib/random.js';
import type { Collection, CollectionConfig, Point } from '../src/retrieval/collections/collection.js';
import type { CollectionStore } from '../src/retrieval/collections/collection-store.js';
import { FileCollectionStore } from '../src/retrieval/collections/file-collection-store.js';
import { PostgresCollectionStore } from '../src/retrieval/collections/postgres/postgres-collection-store.js';

const { values: flags } = parseArgs({ options: { points: { type: 'string', default: '20000' } } });
const POINTS = Number(flags.points);
const DIM = 64;
const BATCH = 500;
const QUERIES = 2000;
const LAG_SECONDS = 10;
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const log = pino({ level: 'warn' });
const rng = new Random(7);

const config: CollectionConfig = {
  name: 'bench',
  dim: DIM,
  metric: 'cosine',
  index: { type: 'hnsw', m: 16, ef_construction: 200, ef_search: 64 },
  created_at: new Date().toISOString(),
};

function randomVector(collection: Collection): Float32Array {
  return collection.prepareVector(
    Array.from({ length: DIM }, () => rng.nextNormal()),
    '/bench',
  );
}

function points(collection: Collection, count: number, prefix: string): Point[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    vector: randomVector(collection),
    payload: { i },
  }));
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

interface Throughput {
  upsertPerSecond: number;
  searchPerSecond: number;
  loadSeconds: number;
}

async function throughput(store: CollectionStore, reopen: () => CollectionStore): Promise<Throughput> {
  const { collection } = await store.create(config);
  const all = points(collection, POINTS, 'p');
  let started = performance.now();
  for (let start = 0; start < POINTS; start += BATCH)
    await store.upsert(collection, all.slice(start, start + BATCH));
  const upsertPerSecond = POINTS / ((performance.now() - started) / 1000);
  const queries = Array.from({ length: QUERIES }, () => randomVector(collection));
  started = performance.now();
  for (const query of queries) collection.search(query, { k: 10, path: '/bench' });
  const searchPerSecond = QUERIES / ((performance.now() - started) / 1000);
  await store.close();
  const restarted = reopen();
  started = performance.now();
  await restarted.load();
  const loadSeconds = (performance.now() - started) / 1000;
  await restarted.close();
  return { upsertPerSecond, searchPerSecond, loadSeconds };
}

async function lag(url: string): Promise<{ writes: number; p50: number; p99: number; atOnce: number }> {
  const a = new PostgresCollectionStore(url, log);
  const b = new PostgresCollectionStore(url, log);
  await a.load();
  // B catches up through the change log alone (notification and poll), as a replica in another process.
  await b.load();
  try {
    const collection = a.get('bench');
    const lags: number[] = [];
    const deadline = performance.now() + LAG_SECONDS * 1000;
    const pending: Array<Promise<void>> = [];
    for (let round = 0; performance.now() < deadline; round++) {
      const sequence = await a.upsert(collection, points(collection, 10, `lag-${round}-`));
      const acknowledged = performance.now();
      pending.push(
        b.reached(sequence, 10_000).then((reached) => {
          lags.push(reached ? performance.now() - acknowledged : Number.POSITIVE_INFINITY);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(pending);
    lags.sort((x, y) => x - y);
    return {
      writes: lags.length,
      p50: quantile(lags, 0.5),
      p99: quantile(lags, 0.99),
      atOnce: lags.filter((value) => value < 0.05).length / lags.length,
    };
  } finally {
    await a.close();
    await b.close();
  }
}

const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
await admin.connect();
const database = `meanserve_bench_${process.pid}`;
await admin.query(`CREATE DATABASE ${database}`);
const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-bench-'));
try {
  console.log(
    `${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}; ${POINTS} points of ${DIM} dimensions`,
  );
  const file = new FileCollectionStore(dataDir, log);
  await file.load();
  const fileResult = await throughput(file, () => new FileCollectionStore(dataDir, log));
  const url = `${POSTGRES_URL}/${database}`;
  const postgres = new PostgresCollectionStore(url, log);
  await postgres.load();
  const postgresResult = await throughput(postgres, () => new PostgresCollectionStore(url, log));
  const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;
  const row = (name: string, result: Throughput) =>
    `| ${name} | ${result.upsertPerSecond.toFixed(0)} | ${ratio(result.upsertPerSecond, fileResult.upsertPerSecond)} ` +
    `| ${result.searchPerSecond.toFixed(0)} | ${ratio(result.searchPerSecond, fileResult.searchPerSecond)} ` +
    `| ${result.loadSeconds.toFixed(2)} | ${ratio(result.loadSeconds, fileResult.loadSeconds)} |`;
  console.log('| store | upsert pt/s | ratio | search q/s | ratio | replica start s | ratio |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(row('file', fileResult));
  console.log(row('postgres', postgresResult));
  const lagResult = await lag(url);
  console.log(
    `replica lag under ${((lagResult.writes * 10) / LAG_SECONDS).toFixed(0)} points/s of writes on A ` +
      `(${lagResult.writes} writes of 10 points): ` +
      `p50 ${lagResult.p50.toFixed(2)} ms, p99 ${lagResult.p99.toFixed(2)} ms; ` +
      `${(lagResult.atOnce * 100).toFixed(0)} % already visible on B when A acknowledged`,
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
