// Decoder threads for token-by-token generation. Each thread loads every language model; a sequence is
// pinned to one thread for its whole life, since its key/value cache lives there. The three decoders of an
// antidistillation request (teacher, θ_P + εg, θ_P − εg) go to three different threads when there are three,
// so their steps run concurrently. A thread that dies after loading fails the sequences it held (their
// caches died with it) and is replaced in its slot at once; messages for the replacement wait here until
// it has loaded (a thread handles messages while its load is still running), so later requests never see
// the crash.
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../lib/thread.js';
import type { DecoderLoadRequest, DecoderReply, DecoderRequest } from './decoder-messages.js';
import type { Decoder } from './kv-decoder.js';

interface Pending {
  resolve: (logits: Float32Array) => void;
  reject: (error: Error) => void;
}

interface DecoderThread {
  worker: Worker;
  pending: Map<number, Pending>;
  failure: Error | undefined;
  loaded: boolean;
  /** Messages held until the thread has loaded its models. */
  backlog: DecoderRequest[];
}

export class DecoderPool {
  private readonly threads: DecoderThread[] = [];
  private nextSequence = 0;
  private nextRequest = 0;
  private nextThread = 0;
  private models: DecoderLoadRequest[] = [];
  private closed = false;
  /** Threads started to replace ones that died (observable; the crash test reads it). */
  replacements = 0;
  /** Steps run by all threads since start (observable progress; the cancellation test reads it). */
  steps = 0;

  constructor(private readonly size: number) {}

  /** Starts the threads and loads the models into each; resolves with the keys that failed to load. */
  async start(models: DecoderLoadRequest[]): Promise<Map<string, string>> {
    this.models = models;
    const failures = new Map<string, string>();
    await Promise.all(
      Array.from({ length: this.size }, async () => {
        for (const { key, error } of await this.spawn(models)) failures.set(key, error);
      }),
    );
    return failures;
  }

  /**
   * Opens one sequence per model key, each on its own thread as far as the threads go. The thread of the
   * first rotates from call to call, spreading requests over the pool.
   */
  open(keys: readonly string[], useCache = true): Decoder[] {
    const first = this.nextThread;
    this.nextThread = (this.nextThread + 1) % this.threads.length;
    return keys.map((key, index) =>
      this.openOn(this.threads[(first + index) % this.threads.length] as DecoderThread, key, useCache),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.allSettled(threads.map((thread) => thread.worker.terminate()));
  }

  private openOn(thread: DecoderThread, key: string, useCache: boolean): Decoder {
    const sequence = this.nextSequence++;
    this.post(thread, { kind: 'open', sequence, key, useCache });
    let closed = false;
    return {
      step: (ids) => {
        if (closed) return Promise.reject(new Error('decoder is closed'));
        if (thread.failure !== undefined) return Promise.reject(thread.failure);
        const id = this.nextRequest++;
        return new Promise<Float32Array>((resolve, reject) => {
          thread.pending.set(id, { resolve, reject });
          this.post(thread, { kind: 'step', sequence, id, ids: [...ids] });
        });
      },
      close: () => {
        if (closed) return;
        closed = true;
        if (thread.failure === undefined) this.post(thread, { kind: 'close', sequence });
      },
    };
  }

  private post(thread: DecoderThread, message: DecoderRequest): void {
    if (thread.loaded || message.kind === 'load') thread.worker.postMessage(message);
    else thread.backlog.push(message);
  }

  /** Starts a thread into `slot` (a new one at the end when undefined) and loads the models into it. */
  private spawn(
    models: DecoderLoadRequest[],
    slot = this.threads.length,
  ): Promise<Array<{ key: string; error: string }>> {
    const worker = startThread(import.meta.url, 'decoder-thread');
    const thread: DecoderThread = {
      worker,
      pending: new Map(),
      failure: undefined,
      loaded: false,
      backlog: [],
    };
    this.threads[slot] = thread;
    const fail = (error: Error) => {
      thread.failure = error;
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
    };
    return new Promise((resolveLoad, rejectLoad) => {
      worker.on('message', (reply: DecoderReply) => {
        if (reply.kind === 'loaded') {
          thread.loaded = true;
          for (const held of thread.backlog.splice(0)) worker.postMessage(held);
          resolveLoad(reply.errors);
          return;
        }
        const pending = thread.pending.get(reply.id);
        thread.pending.delete(reply.id);
        if (reply.kind === 'logits') {
          this.steps++;
          pending?.resolve(reply.logits);
        } else pending?.reject(new Error(reply.message));
      });
      worker.on('error', (error) => {
        fail(error);
        rejectLoad(error);
      });
      worker.on('exit', () => {
        fail(new Error('decoder thread exited'));
        // One that never loaded would only fail again; the load error is already reported.
        const index = this.threads.indexOf(thread);
        if (this.closed || !thread.loaded || index < 0) return;
        this.replacements++;
        void this.spawn(this.models, index).catch(() => undefined);
      });
      this.post(thread, { kind: 'load', models });
    });
  }
}
