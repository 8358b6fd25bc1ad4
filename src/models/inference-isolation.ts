// Where an inference pool's sessions run (inference-worker.ts): worker threads for the manifest's models,
// a child process for each uploaded model. An uploaded graph's run can follow its inputs' values (a Loop
// counted by an input, a buffer sized by one), and only a process can be stopped inside onnxruntime's native
// run — a thread's terminate() waits for the run to end, for hours — or have its memory bounded. A process
// costs a little more a request (a pipe instead of shared memory: docs/benchmarks.md) and one node of its
// own (~50 MB before its model).
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { readMessages, writeMessage } from '../lib/message-pipe.js';
import { DATA_PIPE_FD, startChildProcess, startThread } from '../lib/thread.js';
import type { WorkerReply, WorkerRequest } from './inference-messages.js';

export type Isolation =
  | { kind: 'thread' }
  | {
      kind: 'process';
      /** RLIMIT_DATA of each process (UPLOADED_MODEL_MEMORY_MB); none when undefined. */
      dataLimitBytes: number | undefined;
      /** How long a run whose requests have all gone may go on before its process is killed. */
      cancelGraceMs: number;
    };

/** One thread or process of a pool, as the pool drives it. */
export interface InferenceWorker {
  post(request: WorkerRequest): void;
  onMessage(listener: (reply: WorkerReply) => void): void;
  /** Fires once when it ends, with how (`exit code 1`, `SIGKILL`). */
  onExit(listener: (how: string) => void): void;
  onError(listener: (error: Error) => void): void;
  /** Ends it at once, inside a run too; only a process can be (undefined for a thread). */
  kill: (() => void) | undefined;
  /** Ends it when it runs nothing. */
  stop(): Promise<void>;
}

/** Starts a worker; throws when the machine refuses a process (fork: ENOMEM, EAGAIN). */
export function startInferenceWorker(isolation: Isolation): InferenceWorker {
  return isolation.kind === 'thread'
    ? threadWorker(startThread(import.meta.url, 'inference-worker'))
    : processWorker(
        startChildProcess(import.meta.url, 'inference-worker', {
          dataLimitBytes: isolation.dataLimitBytes,
          dataPipe: true,
        }),
      );
}

function threadWorker(worker: Worker): InferenceWorker {
  return {
    post: (request) => worker.postMessage(request),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => worker.once('exit', (code) => listener(`exit code ${code}`)),
    onError: (listener) => worker.on('error', listener),
    kill: undefined,
    stop: async () => {
      await worker.terminate();
    },
  };
}

function processWorker(child: ChildProcess): InferenceWorker {
  const pipe = child.stdio[DATA_PIPE_FD] as Socket;
  // Writing to a process that has just died fails here; its 'exit' fails the request.
  pipe.on('error', () => undefined);
  // It must not keep a host that is otherwise done alive; a server's listener does that while it serves.
  child.unref();
  child.channel?.unref();
  pipe.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    post: (request) => writeMessage(pipe, request),
    onMessage: (listener) => readMessages(pipe, (reply) => listener(reply as WorkerReply)),
    onExit: (listener) =>
      child.once('exit', (code, signal) => listener(signal === null ? `exit code ${code}` : signal)),
    onError: (listener) => child.on('error', listener),
    kill: () => child.kill('SIGKILL'),
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
