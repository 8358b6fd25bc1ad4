// Runs one job's processor in a child process of its own, so a CPU-bound solver never blocks the host's
// event loop (HTTP in the API, BullMQ lock renewal in a worker) and a job can always be stopped. Jobs ran in
// threads before, and a thread cannot be stopped inside onnxruntime's native run (worker.terminate() waits
// for it): an onnx.batch-infer job on an uploaded graph whose run length is an input's value kept its slot
// after its cancel, and a closing server waited for it, for as long as the run lasted. A process that has
// not answered a cancel within JOB_CANCEL_GRACE_MS is killed; and a job that takes its process down (V8 out
// of memory, a fatal error in native code, the kernel's OOM killer) fails that try, the host untouched.
// Processes are kept warm between jobs (up to WARM_PROCESSES idle): a fresh one spends a few hundred ms
// starting node, importing the job catalog, compiling its schemas and loading the processor.

import type { ChildProcess } from 'node:child_process';
import type { ModelAccess } from '../config.js';
import { JobCancelledError } from '../lib/cancellation.js';
import { startChildProcess } from '../lib/thread.js';
import type { JobProgress } from './job-record.js';
import type { JobTokens, ProcessorOutput } from './processor.js';

export type JobRequest = {
  type: string;
  params: unknown;
  seed: number;
  models: ModelAccess;
};

/** What the host sends a job process: a job to run, or the cancellation of the one it runs. */
export type JobOrder = { kind: 'run'; request: JobRequest } | { kind: 'cancel' };

export type JobMessage =
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'tokens'; tokens: JobTokens }
  | { kind: 'done'; output: ProcessorOutput }
  | { kind: 'error'; name: string; message: string; permanent: boolean };

/** A processor failure as seen from outside its process: its class's name, and whether a retry could help. */
export class JobProcessError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** Least time between two forwarded progress reports, ms; the last report before the end is always sent. */
const PROGRESS_INTERVAL_MS = 100;

/** What a running job reports besides its result: progress (throttled here) and tokens decoded. */
export interface JobEvents {
  onProgress: (progress: JobProgress) => void;
  onTokens?: (tokens: JobTokens) => void;
}

/** Idle processes kept for the next jobs (~110 MB each once they have run a model); more would hold memory. */
const WARM_PROCESSES = 2;
const idle: ChildProcess[] = [];
/** Whether `child` (its IPC channel too) keeps the host running: an idle one does not. */
function holdOpen(child: ChildProcess, open: boolean): void {
  if (open) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

function startJobProcess(): ChildProcess {
  let child: ChildProcess;
  try {
    child = startChildProcess(import.meta.url, 'job-process-entry');
  } catch (error) {
    // A retry may find the machine able to fork again (ENOMEM, EAGAIN).
    throw new JobProcessError('Error', `could not start a job process: ${(error as Error).message}`, false);
  }
  // A process that ends while idle (killed from outside) is not handed out again.
  child.on('exit', () => {
    const at = idle.indexOf(child);
    if (at >= 0) idle.splice(at, 1);
  });
  // Sending to a process that has just died emits this; the job's own listeners report the death.
  child.on('error', () => undefined);
  return child;
}

function takeProcess(): ChildProcess {
  const child = idle.pop() ?? startJobProcess();
  holdOpen(child, true);
  return child;
}

/** Keeps a process that finished its job for the next one, or lets it go (it exits once disconnected). */
function giveBack(child: ChildProcess): void {
  if (idle.length >= WARM_PROCESSES) {
    child.disconnect();
    return;
  }
  holdOpen(child, false);
  idle.push(child);
}

/** Why a job's process ended before it answered, in words an operator can act on. */
function deathOf(code: number | null, signal: NodeJS.Signals | null): string {
  const how = signal === null ? `exit code ${code}` : signal;
  return `the job's process ended (${how}) before the job finished: out of memory, a fatal error in native code, or killed from outside`;
}

/**
 * Runs `request` in a job process. When `signal` aborts, the processor is asked to stop at its next step;
 * if it has not within `cancelGraceMs` (a step inside a native run that will not end soon), its process is
 * killed and the job ends cancelled.
 */
export function runJobInProcess(
  request: JobRequest,
  events: JobEvents,
  signal: AbortSignal,
  cancelGraceMs: number,
): Promise<ProcessorOutput> {
  const { onProgress, onTokens } = events;
  return new Promise((resolve, reject) => {
    const child = takeProcess();
    let settled = false;
    let lastSent = 0;
    let held: JobProgress | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      if (held !== undefined) onProgress(held);
      held = undefined;
    };
    /** `alive`: the process answered for itself and can take the next job. */
    const finish = (alive: boolean, action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      child.off('message', onMessage).off('exit', onExit);
      flush();
      if (alive) giveBack(child);
      else child.kill('SIGKILL');
      action();
    };
    const onAbort = () => {
      if (child.connected) child.send({ kind: 'cancel' } satisfies JobOrder);
      killTimer = setTimeout(
        () =>
          finish(false, () =>
            reject(
              new JobProcessError(
                JobCancelledError.name,
                `cancelled: the job did not stop within ${cancelGraceMs} ms (JOB_CANCEL_GRACE_MS), so its process was killed`,
                true,
              ),
            ),
          ),
        cancelGraceMs,
      );
    };
    const onMessage = (message: JobMessage) => {
      if (message.kind === 'progress') {
        held = message.progress;
        if (Date.now() - lastSent >= PROGRESS_INTERVAL_MS) {
          lastSent = Date.now();
          flush();
        }
      } else if (message.kind === 'tokens') {
        onTokens?.(message.tokens);
      } else if (message.kind === 'done') {
        finish(true, () => resolve(message.output));
      } else {
        finish(true, () => reject(new JobProcessError(message.name, message.message, message.permanent)));
      }
    };
    const onExit = (code: number | null, exitSignal: NodeJS.Signals | null) =>
      finish(false, () => reject(new JobProcessError('Error', deathOf(code, exitSignal), false)));
    child.on('message', onMessage).on('exit', onExit);
    signal.addEventListener('abort', onAbort);
    child.send({ kind: 'run', request } satisfies JobOrder);
    if (signal.aborted) onAbort();
  });
}
