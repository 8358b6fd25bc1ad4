// Child processes of the real entry points (npm start / npm run worker), for tests about processes:
// separate workers, SIGKILL, SIGTERM drain.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface Child {
  process: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function startEntry(entry: string, env: Record<string, string>): Child {
  // node itself with tsx's loader (not the tsx CLI, whose node child would outlive a SIGKILL of the CLI).
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
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
