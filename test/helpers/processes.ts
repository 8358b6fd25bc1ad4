// Child processes of the real entry points (npm start / npm run worker), for tests about processes:
// separate workers, SIGKILL, SIGTERM drain.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface Child {
  process: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/**
 * A server starts with one decoder thread unless `env` says otherwise, as in-process
 * apps do (helpers/app.ts): each thread's start costs a second or more of CPU under tsx.
 * `openFiles` starts it under that open-file limit (util-linux's prlimit, which execs the command: the child
 * is the node process itself).
 */
export function startEntry(entry: string, env: Record<string, string>, openFiles?: number): Child {
  // node itself with tsx's loader (not the tsx CLI, whose node child would outlive a SIGKILL of the CLI).
  const command = [process.execPath, '--import', 'tsx', entry];
  if (openFiles !== undefined) command.unshift('prlimit', `--nofile=${openFiles}:${openFiles}`);
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', DECODER_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { process: child, output: () => output, exited };
}

/** Waits until the child's output matches, or fails with what it printed. */
export async function waitForOutput(
  child: Child,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = child.output().match(pattern);
    if (match) return match;
    if (child.process.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `no ${pattern} in the output of ${child.process.spawnfile}:\n${child.output().slice(-3000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function kill(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
  await child.exited;
}

export interface ApiReplica {
  child: Child;
  /** http://127.0.0.1:<port> */
  base: string;
  dataDir: string;
}

/** An API process (the real entry point) on a free loopback port with a data directory of its own. */
export async function startApiReplica(env: Record<string, string>): Promise<ApiReplica> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meanserve-replica-'));
  const child = startEntry('src/server/main.ts', { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env });
  const [, base] = await waitForOutput(child, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
  return { child, base: base as string, dataDir };
}

/** Kills each replica (SIGKILL) and removes its data directory. */
export async function stopApiReplicas(replicas: ApiReplica[]): Promise<void> {
  await Promise.all(replicas.map((replica) => kill(replica.child)));
  for (const replica of replicas) await rm(replica.dataDir, { recursive: true, force: true });
}

/** The children of `parent` (by default this test's process) whose command line names `entry`. */
export function childProcessesOf(entry: string, parent = process.pid): number[] {
  let lines: string;
  try {
    lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' });
  } catch (error) {
    // ps exits 1 when the process has no children at all.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
  return lines
    .split('\n')
    .filter((line) => line.includes(entry))
    .map((line) => Number.parseInt(line, 10));
}

/** Running, and not a zombie waiting for a parent that no longer reaps it. */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** CPU time a process has used (user and system), from /proc/<pid>/stat; clock ticks are 1/100 s. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
