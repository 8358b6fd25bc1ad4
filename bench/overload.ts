// Overload benchmark: meanserve in a child process with API keys and overload shedding on, one cheap route
// (GET /v1/models) and one expensive route (an OIP inference of iterated-map, 50 000 steps) each measured at
// capacity (closed loop), then driven by autocannon at 10× that rate (open loop) — every answer must be 2xx,
// 429 or 503, never another status, an error or a hang; p99 of the accepted requests is reported, and the
// server must answer liveness and a real request afterwards. A second server with a per-key rate limit on
// the read family shows 429 + Retry-After under the same kind of load.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import autocannon, { type Options } from 'autocannon';
import { startMeanserve, stopAllServers } from './server-process.js';

const KEY = 'bench-key-0123456789abcdef';
const HEADERS = { authorization: `Bearer ${KEY}` };
const CAPACITY_SECONDS = 5;
const OVERLOAD_SECONDS = 10;

interface Route {
  name: string;
  path: string;
  method: 'GET' | 'POST';
  body?: string;
}

const CHEAP: Route = { name: 'cheap: GET /v1/models', path: '/v1/models', method: 'GET' };
const EXPENSIVE: Route = {
  name: 'expensive: POST /v2/models/iterated-map/infer (50 000 steps)',
  path: '/v2/models/iterated-map/infer',
  method: 'POST',
  body: JSON.stringify({
    inputs: [
      { name: 'x', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0.5) },
      { name: 'steps', shape: [1], datatype: 'INT64', data: [50_000] },
    ],
  }),
};

interface Run {
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  acceptedP50Ms: number;
  acceptedP99Ms: number;
  errors: number;
  timeouts: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);

async function run(base: string, route: Route, options: Partial<Options>): Promise<Run> {
  const accepted: number[] = [];
  const statuses: Record<string, number> = {};
  const instance = autocannon({
    url: `${base}${route.path}`,
    method: route.method,
    headers: { ...HEADERS, ...(route.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(route.body === undefined ? {} : { body: route.body }),
    timeout: 60,
    ...options,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) accepted.push(ms);
  });
  const result = await instance;
  accepted.sort((a, b) => a - b);
  const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return {
    requests,
    perSecond: requests / result.duration,
    statuses,
    acceptedP50Ms: percentile(accepted, 0.5),
    acceptedP99Ms: percentile(accepted, 0.99),
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Liveness at once, then the route itself within 10 s (shedding lifts once the loop has caught up); ms taken. */
async function assertServing(base: string, route: Route): Promise<number> {
  assert.equal((await fetch(`${base}/health/live`)).status, 200, 'live right after the run');
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${base}${route.path}`, {
      method: route.method,
      headers: { ...HEADERS, 'content-type': 'application/json' },
      ...(route.body === undefined ? {} : { body: route.body }),
    });
    await response.arrayBuffer();
    if (response.status === 200) return Date.now() - started;
    assert.equal(response.status, 503, `${route.path} after the run`);
    assert.ok(Date.now() - started < 10_000, `${route.path} still refused 10 s after the run`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function checkStatuses(name: string, result: Run): void {
  for (const status of Object.keys(result.statuses)) {
    assert.ok(['200', '429', '503'].includes(status), `${name}: status ${status} under overload`);
  }
  assert.equal(result.errors, 0, `${name}: connection errors`);
  assert.equal(result.timeouts, 0, `${name}: timeouts`);
}

const format = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(value < 10 ? 1 : 0));

async function main(): Promise<void> {
  const started = new Date();
  const dirs: string[] = [];
  try {
    // Shedding on as on a dedicated replica: the event loop late 100 ms for two half-second windows, and at
    // most 32 inference requests waiting (about 4 s of work for the expensive route) before 503.
    const shedding = await startMeanserve({
      API_KEYS: `bench:${KEY}`,
      SHED_EVENT_LOOP_DELAY_MS: '100',
      INFERENCE_QUEUE_LIMIT: '32',
    });
    dirs.push(shedding.dataDir);
    const rows: string[] = [];
    for (const route of [CHEAP, EXPENSIVE]) {
      const capacity = await run(shedding.base, route, { connections: 16, duration: CAPACITY_SECONDS });
      checkStatuses(`${route.name} at capacity`, capacity);
      const target = Math.ceil(capacity.perSecond * 10);
      const overload = await run(shedding.base, route, {
        connections: 400,
        overallRate: target,
        duration: OVERLOAD_SECONDS,
      });
      checkStatuses(`${route.name} at 10×`, overload);
      const recoveryMs = await assertServing(shedding.base, route);
      console.log(route.name, JSON.stringify({ capacity, target, overload, recoveryMs }));
      rows.push(
        `| ${route.name} | ${format(capacity.perSecond)} | ${format(capacity.acceptedP99Ms)} | ${target} | ${format(overload.perSecond)} | ${overload.statuses['200'] ?? 0} | ${overload.statuses['429'] ?? 0} | ${overload.statuses['503'] ?? 0} | ${format(overload.acceptedP50Ms)} | ${format(overload.acceptedP99Ms)} | yes, serving again after ${recoveryMs} ms |`,
      );
    }
    // The same cheap load against a server with a per-key limit of 6 000 reads a minute (100/s).
    const limited = await startMeanserve({ API_KEYS: `bench:${KEY}`, RATE_LIMITS: 'read=6000' });
    dirs.push(limited.dataDir);
    const rateLimited = await run(limited.base, CHEAP, { connections: 100, overallRate: 2000, duration: 5 });
    checkStatuses('rate-limited cheap route', rateLimited);
    assert.equal((await fetch(`${limited.base}/health/live`)).status, 200);
    console.log('rate limited', JSON.stringify(rateLimited));
    rows.push(
      `| cheap, key limited to read=6000/min | – | – | 2000 | ${format(rateLimited.perSecond)} | ${rateLimited.statuses['200'] ?? 0} | ${rateLimited.statuses['429'] ?? 0} | ${rateLimited.statuses['503'] ?? 0} | ${format(rateLimited.acceptedP50Ms)} | ${format(rateLimited.acceptedP99Ms)} | yes |`,
    );

    console.log(
      `\n${started.toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
        .map((value) => value.toFixed(1))
        .join(' ')}\n`,
    );
    console.log(
      '| route | capacity req/s | p99 at capacity ms | offered req/s | answered req/s | 200 | 429 | 503 | accepted p50 ms | accepted p99 ms | live after |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const row of rows) console.log(row);
  } finally {
    await stopAllServers();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
