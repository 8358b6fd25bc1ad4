// Child server processes for the benchmarks: a free loopback port, a server started with this very node
// (`node --import tsx`, or a compiled build, preloading exit-with-parent.mjs so nothing outlives the
// benchmark), a wait for its first 200, and a stop that drains with SIGTERM and falls back to SIGKILL.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

const children = new Set<ChildProcess>();
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * `script` of the checkout at `root` (this one by default): TypeScript run with that checkout's tsx, or
 * JavaScript (a compiled build, see buildMeanserve) run by node alone.
 */
export function startServer(script: string, env: NodeJS.ProcessEnv, root = ROOT): ChildProcess {
  // `node --import tsx` with this very node, not the tsx CLI: the CLI runs the script in a grandchild that a
  // SIGKILL of the CLI would leave behind.
  const exitWithParent = pathToFileURL(join(ROOT, 'bench', 'exit-with-parent.mjs')).href;
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, '--import', exitWithParent, script], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/**
 * Compiles the checkout at `root` as `npm run build` and the Dockerfile do; returns the server's entry
 * point in the build. A bench that times the request path runs this, as deployments do: under tsx every
 * function the request path creates also gets its name defined at run time.
 */
export function buildMeanserve(root = ROOT): string {
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  return 'dist/src/server/main.js';
}

export interface Meanserve {
  base: string;
  child: ChildProcess;
  /** Its own temporary DATA_DIR: the caller removes it after stopAllServers. */
  dataDir: string;
}

/**
 * meanserve on a free loopback port with the caller's environment and `env` over it, the inline queue
 * (REDIS_URL removed, so a run needs nothing but this process) and a temporary DATA_DIR, once
 * /health/ready answers 200. `root`: another checkout of meanserve to run instead of this one (its
 * dependencies installed), e.g. an earlier commit measured side by side with this one. `script`: the
 * TypeScript entry point by default, or a build's (buildMeanserve).
 */
export async function startMeanserve(
  env: NodeJS.ProcessEnv = {},
  { root = ROOT, script = 'src/server/main.ts' }: { root?: string; script?: string } = {},
): Promise<Meanserve> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-bench-'));
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const child = startServer(
    script,
    { ...inherited, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir, ...env },
    root,
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${base}/health/ready`, child);
  } catch (error) {
    await stopServer(child);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return { base, child, dataDir };
}

/** Polls `url` every `intervalMs` until it answers 200; fails when `child` exits first or it takes too long. */
export async function waitForOk(url: string, child: ChildProcess, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (running(child)) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${STARTUP_TIMEOUT_MS} ms`);
    await delay(intervalMs);
  }
  throw new Error(
    `the server for ${url} exited (${child.exitCode ?? child.signalCode}) before answering 200`,
  );
}

/** SIGTERM, so meanserve drains and removes its files; SIGKILL if it has not exited in time. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timeout = new AbortController();
  const stopped = await Promise.race([
    exited.then(() => true),
    delay(STOP_TIMEOUT_MS, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

export function stopAllServers(): Promise<void> {
  return Promise.all([...children].map(stopServer)).then(() => undefined);
}

// Last resort when the process exits some other way: nothing may be left listening.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
