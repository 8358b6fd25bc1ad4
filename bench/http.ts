// HTTP benchmark, one run: meanserve beside two baselines, each in its own child process on a free loopback
// port, measured in turn by autocannon for the same duration, in rounds (every target once a round, right after
// its baseline): a ratio is the median of the rounds' ratios, so a machine whose speed drifts during the run
// (a shared VM's does, by a third and more) moves both sides of each ratio alike.
// Baselines: a bare Fastify hello world (for health) and the naive inference server a user could write in
// twenty lines (bench/naive-server.ts: session.run in the handler), for OIP inference at each connection
// count. The same graph uploaded through the model repository API runs in an inference process of its own
// (as every upload does: docs/models.md), measured against the manifest's spiral-mlp at the same counts: what
// that isolation costs. Each target's answer is checked before it is measured, and a non-2xx, error, timeout
// or wrong body during a run fails the benchmark: the throughput of errors is worthless.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Options, type Result } from 'autocannon';
import {
  buildMeanserve,
  freePort,
  STARTUP_TIMEOUT_MS,
  startServer,
  stopAllServers,
  waitForOk,
} from './server-process.js';
import { median } from './statistics.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** meanserve settings that change inference throughput; they reach the server from this environment. */
const INFERENCE_SETTINGS = ['INFERENCE_THREADS', 'ORT_INTRA_OP_THREADS', 'BATCH_MAX_WAIT_MS'];

interface ParityTensor {
  datatype: string;
  shape: number[];
  data: number[];
}
interface Parity {
  inputs: { x: ParityTensor };
  outputs: Record<string, ParityTensor>;
  tolerance: number;
}
interface InferResponse {
  model_name: string;
  outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
}

interface Target {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  connections: number;
  /** The target whose req/s this one is divided by (itself for a baseline). */
  baseline: string;
  body?: string;
  /** Rows per inference request; set for the targets whose micro-batch sizes are reported. */
  rows?: number;
  /** The model those batches are counted for. */
  model?: string;
  /** Checks the parsed answer before the run; returns the check every response body in the run must pass. */
  verify: (answer: unknown, text: string) => (body: string) => boolean;
}

interface Measurement {
  target: string;
  method: string;
  url: string;
  /** Median over the rounds. */
  requestsPerSecond: number;
  /** Of the round with the median req/s. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  connections: number;
  baseline: string;
  /** Median over the rounds of req/s ÷ the baseline's req/s in the same round. */
  ratioToBaseline: number;
  /** Each round's req/s and ratio, in order. */
  rounds: Array<{ requestsPerSecond: number; ratioToBaseline: number }>;
  requests: number;
  /** Mean rows per batch the micro-batcher sent to the model during the run; null for other targets. */
  meanBatchRows: number | null;
  failures: { non2xx: number; errors: number; timeouts: number; mismatches: number };
}

function integerFlag(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return value;
}

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,10,64' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const duration = integerFlag('duration', flags.duration, 1);
/** Connection counts of the inference comparison; health and hello run at 10. */
const connectionCounts = flags.connections.split(',').map((raw) => integerFlag('connections', raw, 1));
const warmup = integerFlag('warmup', flags.warmup, 0);
/** Every target is measured once per round, each right after its baseline: the machine drifts between rounds. */
const rounds = integerFlag('rounds', flags.rounds, 1);
const args = process.argv.slice(2);
const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;

const parity = JSON.parse(await readFile(join(ROOT, 'models/spiral-mlp/parity.json'), 'utf8')) as Parity;
/** The name spiral-mlp's graph is uploaded under. */
const UPLOADED = 'spiral-uploaded';

// ---- child processes ----------------------------------------------------------------------------------------

let dataDir: string | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= stopAllServers().then(async () => {
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void cleanup().finally(() => process.exit(128 + constants.signals[signal]));
  });
}

// ---- targets ------------------------------------------------------------------------------------------------

function exactly(expected: unknown) {
  return (answer: unknown, text: string) => {
    assert.deepEqual(answer, expected);
    return (body: string) => body === text;
  };
}

function inferTarget(
  name: string,
  base: string,
  rows: number,
  connections: number,
  baseline = name,
  model = 'spiral-mlp',
): Target {
  const x = parity.inputs.x;
  const rowSize = x.shape[1] ?? 1;
  const input = {
    name: 'x',
    datatype: 'FP32',
    shape: [rows, rowSize],
    data: x.data.slice(0, rows * rowSize),
  };
  return {
    name,
    url: `${base}/v2/models/${model}/infer`,
    method: 'POST',
    body: JSON.stringify({ inputs: [input] }),
    rows,
    model,
    connections,
    baseline,
    verify: (answer) => {
      const response = answer as InferResponse;
      assert.equal(response.model_name, model);
      for (const [outputName, expected] of Object.entries(parity.outputs)) {
        const output = response.outputs.find((candidate) => candidate.name === outputName);
        assert.ok(output, `output ${outputName} missing`);
        const outputRowSize = expected.shape.slice(1).reduce((a, b) => a * b, 1);
        const want = expected.data.slice(0, rows * outputRowSize);
        assert.equal(output.datatype, expected.datatype);
        assert.deepEqual(output.shape, [rows, ...expected.shape.slice(1)]);
        assert.equal(output.data.length, want.length);
        output.data.forEach((value, index) => {
          assert.ok(Math.abs(value - (want[index] as number)) <= parity.tolerance, `${outputName}[${index}]`);
        });
      }
      // Labels are integers, so their serialized form is exact whichever micro-batch a request lands in, and
      // a substring test keeps the per-response check cheap next to the server's work.
      const labels = JSON.stringify(response.outputs.find((output) => output.name === 'label'));
      return (body: string) => body.includes(labels);
    },
  };
}

async function preflight(target: Target): Promise<(body: string) => boolean> {
  const response = await fetch(target.url, {
    method: target.method,
    ...(target.body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: target.body }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const where = `${target.name} (${target.method} ${target.url})`;
  if (response.status !== 200) throw new Error(`${where} answered ${response.status}: ${text.slice(0, 500)}`);
  try {
    return target.verify(JSON.parse(text), text);
  } catch (error) {
    throw new Error(
      `${where} answered an unexpected body (${(error as Error).message}): ${text.slice(0, 500)}`,
    );
  }
}

/**
 * Runs autocannon and records every response time itself: autocannon's latency histogram counts whole
 * milliseconds, and loopback answers mostly take less than one.
 */
async function load(target: Target, seconds: number, verifyBody: (body: string) => boolean) {
  const options: Options = {
    url: target.url,
    method: target.method,
    connections: target.connections,
    duration: seconds,
    verifyBody,
  };
  if (target.body !== undefined) {
    options.headers = { 'content-type': 'application/json' };
    options.body = target.body;
  }
  const latenciesMs: number[] = [];
  const result = await autocannon(options).on('response', (_client, _status, _bytes, ms) =>
    latenciesMs.push(ms),
  );
  latenciesMs.sort((a, b) => a - b);
  // Nearest rank: the smallest time that at least p of the responses did not exceed.
  const percentile = (p: number) => latenciesMs[Math.max(0, Math.ceil(p * latenciesMs.length) - 1)] ?? 0;
  return { result, latencyP50Ms: percentile(0.5), latencyP99Ms: percentile(0.99) };
}

function failuresOf(result: Result) {
  const { non2xx, errors, timeouts, mismatches } = result;
  return { non2xx, errors, timeouts, mismatches };
}
const failed = (failures: Measurement['failures']) => Object.values(failures).some((count) => count > 0);

/** Rows and batches the micro-batcher has sent to `model` so far, from meanserve's Prometheus metrics. */
async function batchTotals(base: string, model: string): Promise<{ rows: number; batches: number }> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const read = (suffix: string) => {
    const line = new RegExp(
      `^meanserve_inference_batch_size_${suffix}\\{[^}]*model="${model}"[^}]*\\} (\\S+)$`,
      'm',
    );
    return Number(line.exec(text)?.[1] ?? 0);
  };
  return { rows: read('sum'), batches: read('count') };
}

/** Uploads spiral-mlp's graph as UPLOADED, batched as the manifest batches it, and loads it. */
async function uploadSpiral(base: string): Promise<void> {
  const bytes = await readFile(join(ROOT, 'models/spiral-mlp/model.onnx'));
  const upload = await fetch(`${base}/v1/models/${UPLOADED}/versions/1`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: bytes.toString('base64'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      max_batch_size: 64,
    }),
  });
  if (upload.status !== 201) throw new Error(`the upload answered ${upload.status}: ${await upload.text()}`);
  const load = await fetch(`${base}/v2/repository/models/${UPLOADED}/load`, { method: 'POST' });
  if (load.status !== 200)
    throw new Error(`loading the upload answered ${load.status}: ${await load.text()}`);
}

// ---- the run ------------------------------------------------------------------------------------------------

const cpuList = cpus();
const machine = {
  cpus: cpuList.length,
  model: cpuList[0]?.model.trim() ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
  loadAverageBefore: loadavg().map((value) => Number(value.toFixed(2))),
};

async function main(): Promise<number> {
  const [helloPort, naivePort, meanservePort] = [await freePort(), await freePort(), await freePort()];
  const hello = `http://127.0.0.1:${helloPort}`;
  const naive = `http://127.0.0.1:${naivePort}`;
  const meanserve = `http://127.0.0.1:${meanservePort}`;
  const helloName = 'hello-world GET /';
  const targets: Target[] = [
    {
      name: helloName,
      url: `${hello}/`,
      method: 'GET',
      connections: 10,
      baseline: helloName,
      verify: exactly({ hello: 'world' }),
    },
    {
      name: 'meanserve GET /health/live',
      url: `${meanserve}/health/live`,
      method: 'GET',
      connections: 10,
      baseline: helloName,
      verify: exactly({ status: 'live' }),
    },
    ...connectionCounts.flatMap((connections) => {
      const naiveName = `naive infer, 1 row, ${connections} conn`;
      const meanserveName = `meanserve infer, 1 row, ${connections} conn`;
      return [
        inferTarget(naiveName, naive, 1, connections),
        inferTarget(meanserveName, meanserve, 1, connections, naiveName),
        inferTarget(
          `uploaded copy, 1 row, ${connections} conn`,
          meanserve,
          1,
          connections,
          meanserveName,
          UPLOADED,
        ),
      ];
    }),
    // Its baseline is the naive server at 10 connections: measured only when 10 is among the counts.
    ...(connectionCounts.includes(10)
      ? [
          inferTarget(
            'meanserve infer, 16 rows, 10 conn',
            meanserve,
            parity.inputs.x.shape[0] ?? 16,
            10,
            'naive infer, 1 row, 10 conn',
          ),
        ]
      : []),
  ];

  const budgetMs = STARTUP_TIMEOUT_MS + targets.length * (warmup + rounds * (duration + 30)) * 1000;
  setTimeout(() => {
    console.error(`the benchmark ran past its ${budgetMs} ms budget; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, budgetMs).unref();

  console.log(`command: ${command}`);
  console.log(
    `machine: ${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB, ${machine.os}, node ${machine.node}`,
  );
  console.log(`load average before (1/5/15 min): ${machine.loadAverageBefore.join(' ')}`);
  const settings = INFERENCE_SETTINGS.map((name) => `${name}=${process.env[name] ?? '(default)'}`).join(' ');
  console.log(`autocannon: ${warmup} s warm-up + ${duration} s per target; meanserve: ${settings}`);

  dataDir = await mkdtemp(join(tmpdir(), 'meanserve-bench-'));
  // Without REDIS_URL meanserve uses its inline queue, so the run needs nothing but these two processes.
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const helloServer = startServer('bench/hello-server.ts', { ...inherited, PORT: String(helloPort) });
  const naiveServer = startServer('bench/naive-server.ts', { ...inherited, PORT: String(naivePort) });
  // meanserve as it ships (the Dockerfile's `node dist/src/server/main.js`); the baselines are single files.
  const meanserveServer = startServer(buildMeanserve(), {
    ...inherited,
    PORT: String(meanservePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Its own data directory, so the inline queue never writes into the working tree.
    DATA_DIR: dataDir,
  });
  await Promise.all([
    waitForOk(`${hello}/`, helloServer),
    waitForOk(`${naive}/health`, naiveServer),
    waitForOk(`${meanserve}/health/ready`, meanserveServer),
  ]);
  await uploadSpiral(meanserve);

  interface Round {
    result: Result;
    latencyP50Ms: number;
    latencyP99Ms: number;
    batch: { rows: number; batches: number } | undefined;
  }
  const measured = new Map<string, Round[]>(targets.map((target) => [target.name, []]));
  const verifiers = new Map<string, (body: string) => boolean>();
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      let verifyBody = verifiers.get(target.name);
      if (verifyBody === undefined) {
        verifyBody = await preflight(target);
        verifiers.set(target.name, verifyBody);
        if (warmup > 0) {
          const warm = failuresOf((await load(target, warmup, verifyBody)).result);
          if (failed(warm))
            throw new Error(`${target.name}: failures during warm-up ${JSON.stringify(warm)}`);
        }
      }
      const counted = target.model;
      const before = counted === undefined ? undefined : await batchTotals(meanserve, counted);
      process.stdout.write(`round ${round}/${rounds}: ${target.name} for ${duration} s … `);
      const { result, latencyP50Ms, latencyP99Ms } = await load(target, duration, verifyBody);
      const after = counted === undefined ? undefined : await batchTotals(meanserve, counted);
      const batch =
        before && after
          ? { rows: after.rows - before.rows, batches: after.batches - before.batches }
          : undefined;
      console.log(`${Math.round(result.requests.average)} req/s`);
      measured.get(target.name)?.push({ result, latencyP50Ms, latencyP99Ms, batch });
    }
  }
  const measurements = targets.map((target): Measurement => {
    const own = measured.get(target.name) ?? [];
    const base = measured.get(target.baseline);
    if (base === undefined)
      throw new Error(`${target.name}: its baseline ${target.baseline} was not measured`);
    const perRound = own.map((round, index) => ({
      requestsPerSecond: round.result.requests.average,
      ratioToBaseline: round.result.requests.average / (base[index] as Round).result.requests.average,
    }));
    const middle = [...own].sort((a, b) => a.result.requests.average - b.result.requests.average)[
      Math.floor(own.length / 2)
    ] as Round;
    const rows = own.reduce((sum, round) => sum + (round.batch?.rows ?? 0), 0);
    const batches = own.reduce((sum, round) => sum + (round.batch?.batches ?? 0), 0);
    const failures = own.map((round) => failuresOf(round.result));
    return {
      target: target.name,
      method: target.method,
      url: target.url,
      requestsPerSecond: median(perRound.map((round) => round.requestsPerSecond)),
      latencyP50Ms: middle.latencyP50Ms,
      latencyP99Ms: middle.latencyP99Ms,
      connections: target.connections,
      baseline: target.baseline,
      ratioToBaseline: median(perRound.map((round) => round.ratioToBaseline)),
      rounds: perRound,
      requests: own.reduce((sum, round) => sum + round.result.requests.total, 0),
      // No batch seen (or the metric renamed) reads as unknown rather than as a number.
      meanBatchRows: target.rows !== undefined && batches > 0 ? rows / batches : null,
      failures: {
        non2xx: failures.reduce((sum, f) => sum + f.non2xx, 0),
        errors: failures.reduce((sum, f) => sum + f.errors, 0),
        timeouts: failures.reduce((sum, f) => sum + f.timeouts, 0),
        mismatches: failures.reduce((sum, f) => sum + f.mismatches, 0),
      },
    };
  });
  await cleanup();
  const loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));

  const fixed = (value: number | null, digits: number) => (value === null ? '–' : value.toFixed(digits));
  const rows = [
    [
      'target',
      'req/s (median)',
      'p50 ms',
      'p99 ms',
      '× baseline',
      'rounds: × baseline',
      'baseline',
      'rows/batch',
      'failures',
    ],
    ...measurements.map((m) => [
      m.target,
      m.requestsPerSecond.toFixed(0),
      fixed(m.latencyP50Ms, 2),
      fixed(m.latencyP99Ms, 2),
      m.ratioToBaseline.toFixed(3),
      m.rounds.map((round) => round.ratioToBaseline.toFixed(2)).join(' '),
      m.baseline === m.target ? '–' : m.baseline,
      fixed(m.meanBatchRows, 1),
      failed(m.failures) ? JSON.stringify(m.failures) : '0',
    ]),
  ];
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log();
  console.log(line(rows[0] ?? []));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log(`\nload average after (1/5/15 min): ${loadAverageAfter.join(' ')}`);

  if (flags.json !== undefined) {
    const report = {
      command,
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAfter },
      options: { duration, connections: connectionCounts, warmup, rounds },
      measurements,
    };
    await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${flags.json}`);
  }
  const failing = measurements.filter((m) => failed(m.failures));
  if (failing.length > 0) {
    console.error(`FAILED: ${failing.map((m) => `${m.target} ${JSON.stringify(m.failures)}`).join('; ')}`);
    return 1;
  }
  return 0;
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (error: Error) => {
    console.error(`benchmark failed: ${error.message}`);
    await cleanup();
    process.exit(1);
  },
);
