// Runs one job's processor in its own worker thread, so a CPU-bound solver never blocks the host's event
// loop (HTTP in the API, BullMQ lock renewal in a worker). Cancellation is cooperative: the thread's
// processor sees its signal abort and stops at its next step. Threads are never terminated mid-step:
// terminating onnxruntime-node inside a native run aborts the whole process.

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

export function runJobInThread(
  request: JobThreadRequest,
  events: JobEvents,
  signal: AbortSignal,
): Promise<ProcessorOutput> {
  const { onProgress, onTokens } = events;
  return new Promise((resolve, reject) => {
    const worker = startThread(import.meta.url, 'job-thread-entry', request);
    let settled = false;
    let lastSent = 0;
    let held: JobProgress | undefined;
    const flush = () => {
      if (held !== undefined) onProgress(held);
      held = undefined;
    };
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      flush();
      action();
    };
    const onAbort = () => worker.postMessage('cancel');
    signal.addEventListener('abort', onAbort);
    if (signal.aborted) onAbort();
    worker.on('message', (message: JobThreadMessage) => {
      if (message.kind === 'progress') {
        held = message.progress;
        if (Date.now() - lastSent >= PROGRESS_INTERVAL_MS) {
          lastSent = Date.now();
          flush();
        }
      } else if (message.kind === 'tokens') {
        onTokens?.(message.tokens);
      } else if (message.kind === 'done') {
        finish(() => resolve(message.output));
      } else {
        finish(() => reject(new JobThreadError(message.name, message.message, message.permanent)));
      }
    });
    worker.on('error', (error) => finish(() => reject(new JobThreadError('Error', error.message, false))));
    worker.on('exit', (code) =>
      finish(() =>
        reject(new JobThreadError('Error', `job thread exited with code ${code} before finishing`, false)),
      ),
    );
  });
}
