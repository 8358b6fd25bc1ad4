// Decoder threads for token-by-token generation. Each language model is pinned to one thread (the models
// in turn over the threads), where its cache slots live, and has one scheduler here that batches the steps
// of all its running sequences (decode-scheduler.ts). With three threads, the teacher and both proxies of
// antidistillation step at the same time. A thread that dies after loading fails the sequences of its
// models (their caches died with it) and is replaced in its slot at once; steps for the replacement wait
// here until it has loaded, so later requests never see the crash.
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../lib/thread.js';
import type { DecodeStep } from './batched-decoder.js';
import { DecodeScheduler } from './decode-scheduler.js';
import type { Decoder } from './decoder.js';
import type { DecoderLoadRequest, DecoderReply, DecoderRequest } from './decoder-messages.js';

interface Pending {
  resolve: (logits: Float32Array) => void;
  reject: (error: Error) => void;
}

interface DecoderThread {
  worker: Worker;
  pending: Map<number, Pending>;
  loaded: boolean;
  /** Steps held until the thread has loaded its models. */
  backlog: DecoderRequest[];
}

export class DecoderPool {
  private readonly threads: DecoderThread[] = [];
  private readonly schedulers = new Map<string, DecodeScheduler>();
  private nextRequest = 0;
  private closed = false;
  /** Threads started to replace ones that died (observable; the crash test reads it). */
  replacements = 0;

  constructor(private readonly size: number) {}

  /** Starts the threads and loads each model into its thread; resolves with the keys that failed to load. */
  async start(models: DecoderLoadRequest[]): Promise<Map<string, string>> {
    const threads = Math.min(this.size, Math.max(models.length, 1));
    const pinned: DecoderLoadRequest[][] = Array.from({ length: threads }, () => []);
    models.forEach((model, index) => {
      const thread = index % threads;
      pinned[thread]?.push(model);
      const execute = (step: DecodeStep) => this.execute(thread, model.key, step);
      this.schedulers.set(model.key, new DecodeScheduler(execute, model.spec.context));
    });
    const failures = new Map<string, string>();
    await Promise.all(
      pinned.map(async (group, slot) => {
        for (const { key, error } of await this.spawn(group, slot)) failures.set(key, error);
      }),
    );
    return failures;
  }

  /** Opens one sequence per model key. */
  open(keys: readonly string[]): Decoder[] {
    return keys.map((key) => {
      const scheduler = this.schedulers.get(key);
      if (scheduler === undefined) throw new Error(`model ${key} is not loaded in the decoder threads`);
      return scheduler.open();
    });
  }

  /** Decoding steps run since start, over every model (observable progress; the cancellation tests read it). */
  get steps(): number {
    let steps = 0;
    for (const scheduler of this.schedulers.values()) steps += scheduler.steps;
    return steps;
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.allSettled(threads.map((thread) => thread.worker.terminate()));
  }

  private execute(slot: number, key: string, step: DecodeStep): Promise<Float32Array> {
    const thread = this.threads[slot];
    if (thread === undefined || this.closed) return Promise.reject(new Error('decoder pool is closed'));
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      this.post(thread, { kind: 'step', key, id, step });
    });
  }

  private post(thread: DecoderThread, message: DecoderRequest): void {
    if (thread.loaded || message.kind === 'load') thread.worker.postMessage(message);
    else thread.backlog.push(message);
  }

  /** Starts a thread into `slot` and loads its models into it. */
  private spawn(models: DecoderLoadRequest[], slot: number): Promise<Array<{ key: string; error: string }>> {
    const worker = startThread(import.meta.url, 'decoder-thread');
    const thread: DecoderThread = { worker, pending: new Map(), loaded: false, backlog: [] };
    this.threads[slot] = thread;
    const fail = (error: Error) => {
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
      for (const model of models) this.schedulers.get(model.key)?.fail(error);
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
        if (reply.kind === 'logits') pending?.resolve(reply.logits);
        else pending?.reject(new Error(reply.message));
      });
      worker.on('error', (error) => {
        fail(error);
        rejectLoad(error);
      });
      worker.on('exit', () => {
        fail(new Error('decoder thread exited'));
        // One that never loaded would only fail again; the load error is already reported.
        if (this.closed || !thread.loaded || this.threads[slot] !== thread) return;
        this.replacements++;
        void this.spawn(models, slot).catch(() => undefined);
      });
      this.post(thread, { kind: 'load', models });
    });
  }
}
