// Decoder threads for token-by-token generation. Each thread loads every language model; a sequence is
// pinned to one thread for its whole life, since its key/value cache lives there. The three decoders of an
// antidistillation request (teacher, θ_P + εg, θ_P − εg) go to three different threads when there are three,
// so their steps run concurrently.
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
}

export class DecoderPool {
  private readonly threads: DecoderThread[] = [];
  private nextSequence = 0;
  private nextRequest = 0;
  private nextThread = 0;
  /** Steps run by all threads since start (observable progress; the cancellation test reads it). */
  steps = 0;

  constructor(private readonly size: number) {}

  /** Starts the threads and loads the models into each; resolves with the keys that failed to load. */
  async start(models: DecoderLoadRequest[]): Promise<Map<string, string>> {
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
    thread.worker.postMessage(message);
  }

  private spawn(models: DecoderLoadRequest[]): Promise<Array<{ key: string; error: string }>> {
    const worker = startThread(import.meta.url, 'decoder-thread');
    const thread: DecoderThread = { worker, pending: new Map(), failure: undefined };
    this.threads.push(thread);
    const fail = (error: Error) => {
      thread.failure = error;
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
    };
    return new Promise((resolveLoad, rejectLoad) => {
      worker.on('message', (reply: DecoderReply) => {
        if (reply.kind === 'loaded') {
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
      worker.on('exit', () => fail(new Error('decoder thread exited')));
      this.post(thread, { kind: 'load', models });
    });
  }
}
