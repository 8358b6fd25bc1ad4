// Completion benchmark, one run on one machine state: tokens per second and time to first token of
// streamed POST /v1/completions and /v1/chat/completions on a meanserve child process (default settings,
// inline queue), at 1, 8, 32 and 64 concurrent streams, plain and antidistillation sampling, each row's
// ratio against plain completions at 1 stream; beside it, the FLOP ceiling of each language model on this
// CPU: onnxruntime's measured matrix-multiply rate (one thread, bench/fixtures/matmul.onnx) divided by
// 2 × parameters a token; and the ceiling that binds, the teacher's batched decoding graph alone (decode.onnx
// on one onnxruntime thread, as a decoder thread runs it) at each stream count's batch size: how far
// batching alone could take tokens/s past the measured 1-stream rate if nothing else cost anything; and the
// ceiling of the machine's cores at each row's measured CPU a token (server and load generator).
//   npm run bench:completions [-- --duration 5 --streams 1,8,32,64]
// Each stream is a closed loop: a request, its server-sent events read to the end, the next request (over
// node:http, parsing only what it measures: the load generator shares the server's cores). Time to first
// token: request sent → first chunk with text. Tokens: usage.completion_tokens of the last chunk.
// Any non-200 or an answer without usage fails the run.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeSpecOf } from '../src/models/lm/batched-decoder.js';
import { readManifest } from '../src/models/manifest.js';
import { openSession } from '../src/models/session.js';
import type { ManifestEntry } from '../src/schemas/manifest.js';
import { startMeanserve, stopAllServers } from './server-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    streams: { type: 'string', default: '1,8,32,64' },
  },
});
const duration = Number(values.duration);
const streamCounts = values.streams.split(',').map(Number);
assert.ok(duration > 0 && streamCounts.every((count) => Number.isSafeInteger(count) && count > 0));

/** λ = 0.109 (0.6 nats): the teacher keeps 88 % accuracy (docs/antidistillation.md). */
const MODES = { plain: undefined, antidistillation: { lambda: 0.109 } } as const;
type Mode = keyof typeof MODES;
type Endpoint = 'completions' | 'chat';

/** The experiment's test split: 3-5-digit sums and products, a different problem per request. */
function problem(index: number): string {
  return index % 2 === 0
    ? `${31_415 + 97 * index}+${2_718 + 13 * index}=`
    : `${90_719 - 31 * index}*${index % 10}=`;
}

function requestBody(endpoint: Endpoint, mode: Mode, index: number): unknown {
  const common = {
    temperature: 1,
    top_p: 0.95,
    seed: index,
    stream: true,
    stream_options: { include_usage: true },
    ...(MODES[mode] === undefined ? {} : { antidistillation: MODES[mode] }),
  };
  return endpoint === 'completions'
    ? { prompt: `Q:${problem(index)}`, ...common }
    : { messages: [{ role: 'user', content: problem(index) }], ...common };
}

interface StreamResult {
  firstTokenMs: number;
  tokens: number;
}

/** Keep-alive connections: one per stream, as many as the most streams at once. */
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...streamCounts) });

/** The text of a completions or chat chunk, or '' (a chat's opening role chunk, the usage chunk). */
function textOf(event: string): string {
  const data = JSON.parse(event) as { choices: Array<{ text?: string; delta?: { content?: string } }> };
  return data.choices[0]?.text ?? data.choices[0]?.delta?.content ?? '';
}

/**
 * One streamed request over node:http. The load generator shares the server's two cores, so it reads
 * no more than it must: events are parsed only until the first one with text (time to first token), and
 * the usage is read from the stream's last chunk; the rest of the bytes are only kept.
 */
function streamOnce(base: string, endpoint: Endpoint, mode: Mode, index: number): Promise<StreamResult> {
  const path = endpoint === 'completions' ? '/v1/completions' : '/v1/chat/completions';
  const body = JSON.stringify(requestBody(endpoint, mode, index));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let firstTokenMs = Number.NaN;
        let head = '';
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (!Number.isNaN(firstTokenMs)) return;
          head += chunk.toString('utf8');
          for (let end = head.indexOf('\n\n'); end >= 0; end = head.indexOf('\n\n')) {
            const event = head.slice(0, end).replace(/^data: /, '');
            head = head.slice(end + 2);
            if (event !== '[DONE]' && response.statusCode === 200 && textOf(event).length > 0) {
              firstTokenMs = performance.now() - started;
              break;
            }
          }
        });
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200)
            return reject(new Error(`${path}: ${response.statusCode} ${text}`));
          // The usage chunk comes last, before [DONE].
          const events = text.trimEnd().split('\n\n');
          const last = events.at(-2)?.replace(/^data: /, '');
          const usage =
            last === undefined
              ? undefined
              : (JSON.parse(last) as { usage?: { completion_tokens: number } }).usage;
          if (events.at(-1) !== 'data: [DONE]' || usage === undefined) {
            return reject(new Error(`${path}: the stream did not end with a usage chunk and [DONE]`));
          }
          resolve({ firstTokenMs, tokens: usage.completion_tokens });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

interface Row {
  endpoint: Endpoint;
  mode: Mode;
  streams: number;
  tokensPerSecond: number;
  /** CPU cores busy on average: the server process, and this process (the load generator). */
  serverCores: number;
  clientCores: number;
  requests: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
}

function nearestRank(sorted: number[], quantile: number): number {
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? Number.NaN;
}

/** CPU seconds a process has used (Linux /proc; fields 14 and 15 of stat are user and system ticks). */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
const TICKS_PER_SECOND = 100;

async function measure(
  base: string,
  serverPid: number,
  endpoint: Endpoint,
  mode: Mode,
  streams: number,
): Promise<Row> {
  const deadline = performance.now() + duration * 1000;
  const results: StreamResult[] = [];
  let next = 0;
  const serverBefore = await cpuSecondsOf(serverPid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async () => {
      while (performance.now() < deadline) results.push(await streamOnce(base, endpoint, mode, next++));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverSeconds = (await cpuSecondsOf(serverPid)) - serverBefore;
  const ttft = results.map((result) => result.firstTokenMs).sort((a, b) => a - b);
  return {
    endpoint,
    mode,
    streams,
    tokensPerSecond: results.reduce((sum, result) => sum + result.tokens, 0) / seconds,
    serverCores: serverSeconds / seconds,
    clientCores: (client.user + client.system) / 1e6 / seconds,
    requests: results.length,
    ttftP50Ms: nearestRank(ttft, 0.5),
    ttftP99Ms: nearestRank(ttft, 0.99),
  };
}

/** FLOP/s of one onnxruntime thread multiplying 256×512 by 512×512 (best of 5 rounds of 20). */
async function matmulRate(): Promise<number> {
  const session = await ort.InferenceSession.create(join(ROOT, 'bench/fixtures/matmul.onnx'), {
    intraOpNumThreads: 1,
  });
  const [m, k, n] = [256, 512, 512];
  const feeds = {
    a: new ort.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]),
    b: new ort.Tensor('float32', new Float32Array(k * n).fill(0.25), [k, n]),
  };
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 20; i++) await session.run(feeds);
    best = Math.max(best, (20 * 2 * m * k * n) / ((performance.now() - started) / 1000));
  }
  await session.release();
  return best;
}

function entryOf(manifest: ManifestEntry[], name: string): ManifestEntry {
  const entry = manifest.find((model) => model.name === name);
  if (entry === undefined) throw new Error(`the manifest has no model ${name}`);
  return entry;
}

function parametersOf(entry: ManifestEntry): number {
  const parameters = entry.metrics?.parameters;
  if (typeof parameters !== 'number')
    throw new Error(`the manifest records no parameter count for ${entry.name}`);
  return parameters;
}

/**
 * Milliseconds one step of `rows` sequences takes in the model's batched decoding graph on one thread
 * (fastest of 5 rounds): one new token each at position 32 — the graph attends over the whole context
 * whatever the position, so the time does not depend on it. The cache slots hold values, not zeros: a zeroed
 * Float32Array is backed by the kernel's one shared zero page, which stays in the CPU cache, and a step then
 * computes in two thirds of the time it takes over a real cache (1.55 against 2.2–2.5 ms for 32 rows here).
 */
async function decodeStepMs(entry: ManifestEntry, rows: number[]): Promise<number[]> {
  const model = entry.language_model;
  if (model === undefined) throw new Error(`${entry.name} is not a language model`);
  // Opened as a decoder thread opens it (decoder-thread.ts).
  const { session } = await openSession(await readFile(join(ROOT, 'models', model.decoder.file)), ['cpu'], 1);
  const { layers, heads, headDim, context } = decodeSpecOf(model);
  const times: number[] = [];
  for (const count of rows) {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(count).fill(5n), [count, 1]),
      positions: new ort.Tensor('int64', new BigInt64Array(count).fill(32n), [count]),
    };
    for (let layer = 0; layer < layers; layer++) {
      for (const kind of ['key', 'value']) {
        const shape = [count, heads, context, headDim];
        const values = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i));
        feeds[`${kind}${layer}`] = new ort.Tensor('float32', values, shape);
      }
    }
    const runs = Math.max(5, Math.floor(200 / count));
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 6; round++) {
      const started = performance.now();
      for (let i = 0; i < runs; i++) await session.run(feeds);
      // The first round warms the session up (its first runs plan memory).
      if (round > 0) best = Math.min(best, (performance.now() - started) / runs);
    }
    times.push(best);
  }
  await session.release();
  return times;
}

/**
 * The ceiling the machine's cores set, from each plain completions row's own CPU a token: the tokens/s at
 * which the server and this load generator, spending what they spent a token, would keep every core busy —
 * and with the load generator on other cores, the server alone. A ratio above the first cannot be reached on
 * this machine by overlapping work better, only by spending less CPU a token.
 */
function cpuCeiling(rows: Row[], reference: number): void {
  const cores = cpus().length;
  console.log(`\nCPU a token, plain completions, and the tokens/s it allows on ${cores} cores:`);
  console.log(
    '| streams | server µs a token | load generator µs a token | tokens/s, every core busy | × 1-stream | tokens/s, server alone on every core | × 1-stream |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows.filter((row) => row.endpoint === 'completions' && row.mode === 'plain')) {
    const server = row.serverCores / row.tokensPerSecond;
    const client = row.clientCores / row.tokensPerSecond;
    const shared = cores / (server + client);
    const alone = cores / server;
    console.log(
      `| ${row.streams} | ${(1e6 * server).toFixed(0)} | ${(1e6 * client).toFixed(0)} | ${shared.toFixed(0)} | ` +
        `${(shared / reference).toFixed(2)} | ${alone.toFixed(0)} | ${(alone / reference).toFixed(2)} |`,
    );
  }
}

async function main(): Promise<void> {
  const { base, child: server, dataDir } = await startMeanserve();
  try {
    const manifest = await readManifest(join(ROOT, 'models'));
    const rate = await matmulRate();
    const teacherEntry = entryOf(manifest, 'arithmetic-teacher');
    const stepMs = await decodeStepMs(teacherEntry, streamCounts);
    const teacher = parametersOf(teacherEntry);
    const proxy = parametersOf(entryOf(manifest, 'arithmetic-proxy-plus'));
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load before ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(`${duration} s per row, streams ${streamCounts.join('/')}, one warm-up request per row`);
    const rows: Row[] = [];
    for (const endpoint of ['completions', 'chat'] as const) {
      for (const mode of Object.keys(MODES) as Mode[]) {
        for (const streams of streamCounts) {
          await streamOnce(base, endpoint, mode, 0);
          const row = await measure(base, server.pid as number, endpoint, mode, streams);
          rows.push(row);
          console.log(
            `${endpoint} ${mode} ${streams} streams: ${row.tokensPerSecond.toFixed(0)} tokens/s, ` +
              `ttft p50 ${row.ttftP50Ms.toFixed(1)} ms`,
          );
        }
      }
    }
    const reference = rows[0]?.tokensPerSecond ?? Number.NaN;
    console.log(
      '\n| endpoint | mode | streams | tokens/s | × 1-stream plain | × plain, same streams | TTFT p50 ms | TTFT p99 ms | requests | server cores | load generator cores |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      const plain = rows.find(
        (other) => other.endpoint === row.endpoint && other.mode === 'plain' && other.streams === row.streams,
      );
      console.log(
        `| ${row.endpoint} | ${row.mode} | ${row.streams} | ${row.tokensPerSecond.toFixed(0)} | ` +
          `${(row.tokensPerSecond / reference).toFixed(2)} | ${(row.tokensPerSecond / (plain?.tokensPerSecond ?? Number.NaN)).toFixed(2)} | ` +
          `${row.ttftP50Ms.toFixed(1)} | ${row.ttftP99Ms.toFixed(1)} | ${row.requests} | ` +
          `${row.serverCores.toFixed(2)} | ${row.clientCores.toFixed(2)} |`,
      );
    }
    console.log(`\nonnxruntime MatMul, one thread: ${(rate / 1e9).toFixed(1)} GFLOP/s`);
    console.log(
      '| model | FLOP a token (2 × parameters) | ceiling, one core, tokens/s | best measured tokens/s | of the ceiling |',
    );
    console.log('|---|---:|---:|---:|---:|');
    const best = (mode: Mode) =>
      Math.max(...rows.filter((row) => row.mode === mode).map((row) => row.tokensPerSecond));
    for (const [label, flop, mode] of [
      ['arithmetic-teacher (plain)', 2 * teacher, 'plain'],
      ['teacher + proxy pair (antidistillation)', 2 * (teacher + 2 * proxy), 'antidistillation'],
    ] as const) {
      const ceiling = rate / flop;
      console.log(
        `| ${label} | ${(flop / 1e6).toFixed(2)} M | ${ceiling.toFixed(0)} | ${best(mode).toFixed(0)} | ${((100 * best(mode)) / ceiling).toFixed(0)} % |`,
      );
    }
    console.log('\narithmetic-teacher decode.onnx alone, one thread (a step of one token per sequence):');
    console.log(
      '| sequences a step | step ms | tokens/s | × measured 1-stream plain | measured plain completions at as many streams |',
    );
    console.log('|---:|---:|---:|---:|---:|');
    streamCounts.forEach((count, index) => {
      const ms = stepMs[index] as number;
      const measured = rows.find(
        (row) => row.endpoint === 'completions' && row.mode === 'plain' && row.streams === count,
      );
      console.log(
        `| ${count} | ${ms.toFixed(2)} | ${((1000 * count) / ms).toFixed(0)} | ` +
          `${((1000 * count) / ms / reference).toFixed(2)} | ${measured?.tokensPerSecond.toFixed(0) ?? '–'} |`,
      );
    });
    cpuCeiling(rows, reference);
  } finally {
    agent.destroy();
    await stopAllServers();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
