// Start-up, one run: the compiled server (`npm start`: tsc -b, a no-op once built, then node on dist/) beside
// the TypeScript sources under tsx (what `npm run dev` runs, without its file watcher), each started in turn
// on a free loopback port with its own DATA_DIR. Three times per start: process spawn to the first 200 of
// /health/ready (every model loaded); on the ready server, job submission to the job's first progress
// event on its server-sent event stream (the first job starts a job process: this includes the process's
// start, its imports and, under tsx, its TypeScript loader); and the same for a second job, which finds
// that process warm. The median of --runs starts is reported for each.
//   npm run bench:startup [-- --runs 5]
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, stopServer, waitForOk } from './server-process.js';
import { median } from './statistics.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
assert.ok(Number.isSafeInteger(runs) && runs >= 1, '--runs must be a positive integer');

interface Variant {
  label: string;
  command: string;
  args: string[];
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const VARIANTS: Variant[] = [
  {
    label: 'tsx, TypeScript sources (npm run dev)',
    command: process.execPath,
    args: ['--import', 'tsx', 'src/server/main.ts'],
  },
  { label: 'compiled (npm start)', command: NPM, args: ['start', '--silent'] },
];

/** 300 fictitious-play iterations of the beach bar: progress after the first iteration, done in about a second. */
const JOB = {
  type: 'mfg.finite',
  params: { env: { name: 'beach_bar' }, algorithm: { name: 'fictitious_play' }, iterations: 300 },
  seed: 1,
};

function start(variant: Variant, port: number, dataDir: string): ChildProcess {
  // Its own process group, so that npm's child (node) goes with it.
  return spawn(variant.command, variant.args, {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  await stopServer(child);
}

/** Milliseconds from the submission of JOB to its first progress event. */
async function firstProgressMs(base: string): Promise<number> {
  const started = performance.now();
  const submitted = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(JOB),
  });
  const job = (await submitted.json()) as { id: string };
  assert.equal(submitted.status, 202, JSON.stringify(job));
  const events = await fetch(`${base}/v1/jobs/${job.id}/events`);
  assert.ok(events.body);
  const decoder = new TextDecoder();
  let text = '';
  const reader = events.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
    // A snapshot that already shows progress counts too: the progress event came before the subscription.
    const snapshot = /event: snapshot\ndata: (.*)\n/.exec(text)?.[1];
    const progressed = snapshot !== undefined && (JSON.parse(snapshot).progress?.fraction ?? 0) > 0;
    if (progressed || text.includes('event: progress') || text.includes('event: completed')) {
      const ms = performance.now() - started;
      await reader.cancel();
      return ms;
    }
  }
  throw new Error(`the event stream of ${job.id} ended without progress: ${text.slice(0, 500)}`);
}

// The build `npm start` would otherwise do on its first run: measured starts find dist/ up to date.
const build = spawn(NPM, ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
const built = await new Promise<number | null>((resolve) => build.on('exit', resolve));
assert.equal(built, 0, 'npm run build failed');

const results: Array<{ label: string; readyMs: number; progressMs: number; warmMs: number }> = [];
for (const variant of VARIANTS) {
  const ready: number[] = [];
  const progress: number[] = [];
  const warm: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-startup-'));
    const started = performance.now();
    const child = start(variant, port, dataDir);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitForOk(`${base}/health/ready`, child, 10);
      ready.push(performance.now() - started);
      progress.push(await firstProgressMs(base));
      warm.push(await firstProgressMs(base));
    } finally {
      await stop(child);
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  results.push({
    label: variant.label,
    readyMs: median(ready),
    progressMs: median(progress),
    warmMs: median(warm),
  });
  console.error(
    `${variant.label}: ready ${ready.map(Math.round).join(', ')} ms; first progress ${progress.map(Math.round).join(', ')} ms; next job ${warm.map(Math.round).join(', ')} ms`,
  );
}

const [source, compiled] = results;
assert.ok(source && compiled);
console.log(`\nmedian of ${runs} starts each (${new Date().toISOString()}, node ${process.version})\n`);
console.log(
  '| start                                  | to /health/ready | submit → first progress | next job, warm process |',
);
console.log(
  '| -------------------------------------- | ---------------: | ----------------------: | ---------------------: |',
);
for (const { label, readyMs, progressMs, warmMs } of results) {
  console.log(
    `| ${label.padEnd(38)} | ${`${(readyMs / 1000).toFixed(2)} s`.padStart(16)} | ${`${Math.round(progressMs)} ms`.padStart(23)} | ${`${Math.round(warmMs)} ms`.padStart(22)} |`,
  );
}
console.log(
  `\ncompiled / tsx: ${(compiled.readyMs / source.readyMs).toFixed(2)}× the time to ready, ${(compiled.progressMs / source.progressMs).toFixed(2)}× the time to first progress`,
);
console.log(
  `next job / first job (compiled): ${(compiled.warmMs / compiled.progressMs).toFixed(2)}× the time to first progress`,
);
