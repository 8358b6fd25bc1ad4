// Runs one job's processor in a worker thread, so a CPU-bound solver never blocks the host's event loop
// (HTTP in the API, BullMQ lock renewal in a worker). Threads are kept warm between jobs (up to
// WARM_THREADS idle): a fresh one spent ~150 ms importing the job catalog, compiling its schemas and
// loading the processor before a job's work began, so 50 one-request onnx.batch-infer jobs took 9.4 s.
// Cancellation is cooperative: the thread's processor sees its signal abort and stops at its next step.
// Threads are never terminated mid-step: terminate() waits for onnxruntime-node's native run to return.

import type { Worker } from 'node:worker_threads';
import type { ModelAccess } from '../config.js';
import { startThread } from '../lib/thread.js';
import type { JobProgress } from './job-record.js';
import type { JobTokens, ProcessorOutput } from './processor.js';

export type JobThreadRequest = {
  type: string;
  params: unknown;
  seed: number;
  models: ModelAccess;
};

/** What the host sends a job thread: a job to run, or the cancellation of the one it runs. */
export type JobThreadOrder = { kind: 'run'; request: JobThreadRequest } | { kind: 'cancel' };

export type JobThreadMessage =
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'tokens'; tokens: JobTokens }
  | { kind: 'done'; output: ProcessorOutput }
  | { kind: 'error'; name: string; message: string; permanent: boolean };

/** A processor failure as seen from outside the thread: its class's name, and whether a retry could help. */
export class JobThreadError extends Error {
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

/** Idle threads kept for the next jobs; more would only hold memory. */
const WARM_THREADS = 4;
const idle: Worker[] = [];

function takeThread(): Worker {
  const warm = idle.pop();
  if (warm !== undefined) {
    warm.ref();
    return warm;
  }
  const worker = startThread(import.meta.url, 'job-thread-entry');
  // A thread that ends while idle (it should not) is not handed out again.
  worker.on('exit', () => {
    const at = idle.indexOf(worker);
    if (at >= 0) idle.splice(at, 1);
  });
  return worker;
}

/** Keeps a thread that finished its job for the next one; idle, it does not keep the process alive. */
function giveBack(worker: Worker): void {
  if (idle.length >= WARM_THREADS) {
    void worker.terminate();
    return;
  }
  worker.unref();
  idle.push(worker);
}

export function runJobInThread(
  request: JobThreadRequest,
  events: JobEvents,
  signal: AbortSignal,
): Promise<ProcessorOutput> {
  const { onProgress, onTokens } = events;
  return new Promise((resolve, reject) => {
    const worker = takeThread();
    let settled = false;
    let lastSent = 0;
    let held: JobProgress | undefined;
    const flush = () => {
      if (held !== undefined) onProgress(held);
      held = undefined;
    };
    /** `alive`: the thread answered for itself and can take the next job. */
    const finish = (alive: boolean, action: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      flush();
      if (alive) giveBack(worker);
      action();
    };
    const onAbort = () => worker.postMessage({ kind: 'cancel' } satisfies JobThreadOrder);
    const onMessage = (message: JobThreadMessage) => {
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
        finish(true, () => reject(new JobThreadError(message.name, message.message, message.permanent)));
      }
    };
    const onError = (error: Error) =>
      finish(false, () => reject(new JobThreadError('Error', error.message, false)));
    const onExit = (code: number) =>
      finish(false, () =>
        reject(new JobThreadError('Error', `job thread exited with code ${code} before finishing`, false)),
      );
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    signal.addEventListener('abort', onAbort);
    worker.postMessage({ kind: 'run', request } satisfies JobThreadOrder);
    if (signal.aborted) onAbort();
  });
}
