// Decoder threads for token-by-token generation. Every thread holds every language model, and each model
// has one scheduler per thread here that batches the steps of its running sequences there
// (decode-scheduler.ts); a sequence's cache slot lives on the thread it was opened on. A new sequence goes
// to the thread whose estimated step would be shortest with it, so one model's many sequences step on
// several threads at once (one thread alone left the other core idle while the event loop sampled), and
// the teacher and both proxies of a lone antidistillation request each get a thread of their own. Rows of
// a step do not depend on each other, so where a sequence runs never changes its tokens. A thread that
// dies after loading fails the sequences that lived on it (their caches died with it) and is replaced in
// its slot at once; steps for the replacement wait here until it has loaded, so later requests never see
// the crash.
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

/** A language model on every thread: its scheduler there (by thread slot) and its cost model. */
interface ReplicatedModel {
  replicas: DecodeScheduler[];
  /** Relative cost of one sequence's row in a step: layers × width², the weights it multiplies. */
  rowCost: number;
}

/**
 * The fixed part of a forward pass, in rows: the teacher's decode.onnx on one thread here took 0.31 ms for
 * one row and 1.69 ms for 32. A thread's estimated step counts it once for each model with sequences there:
 * a sequence that would start its model's pass on a thread adds it, one that joins the pass adds a row.
 */
const RUN_COST_IN_ROWS = 6;

interface DecoderThread {
  worker: Worker;
  pending: Map<number, Pending>;
  loaded: boolean;
  /** Steps held until the thread has loaded its models. */
  backlog: DecoderRequest[];
}

export class DecoderPool {
  private readonly threads: DecoderThread[] = [];
  private readonly models = new Map<string, ReplicatedModel>();
  private nextRequest = 0;
  private closed = false;
  /** Threads started to replace ones that died (observable; the crash test reads it). */
  replacements = 0;

  constructor(private readonly size: number) {}

  /** Starts the threads and loads every model into each; resolves with the keys that failed to load. */
  async start(models: DecoderLoadRequest[]): Promise<Map<string, string>> {
    const threads = Array.from({ length: this.size }, (_, slot) => slot);
    for (const model of models) {
      const replicas = threads.map(
        (slot) => new DecodeScheduler((step) => this.execute(slot, model.key, step), model.spec.context),
      );
      const { layers, heads, headDim } = model.spec;
      this.models.set(model.key, { replicas, rowCost: layers * (heads * headDim) ** 2 });
    }
    const failures = new Map<string, string>();
    await Promise.all(
      threads.map(async (slot) => {
        for (const { key, error } of await this.spawn(models, slot)) failures.set(key, error);
      }),
    );
    return failures;
  }

  /** Opens one sequence per model key, each on the thread whose step would be shortest with it (placement). */
  open(keys: readonly string[]): Decoder[] {
    return keys.map((key) => {
      const model = this.models.get(key);
      if (model === undefined) throw new Error(`model ${key} is not loaded in the decoder threads`);
      return (model.replicas[this.placement(model)] as DecodeScheduler).open();
    });
  }

  /** Decoding steps run since start, over every model (observable progress; the cancellation tests read it). */
  get steps(): number {
    let steps = 0;
    for (const { replicas } of this.models.values())
      for (const scheduler of replicas) steps += scheduler.steps;
    return steps;
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.allSettled(threads.map((thread) => thread.worker.terminate()));
  }

  /**
   * The thread for one more sequence of `model`: the one whose estimated step time (a run's fixed cost
   * for each model with sequences there, plus their rows) would be lowest with it added — the lowest slot
   * on ties, so a lone sequence of each model of an antidistillation request lands on a thread of its own.
   */
  private placement(model: ReplicatedModel): number {
    const load = new Array<number>(this.size).fill(0);
    for (const { replicas, rowCost } of this.models.values()) {
      replicas.forEach((scheduler, slot) => {
        if (scheduler.size > 0)
          load[slot] = (load[slot] as number) + rowCost * (RUN_COST_IN_ROWS + scheduler.size);
      });
    }
    let best = 0;
    let bestLoad = Number.POSITIVE_INFINITY;
    model.replicas.forEach((scheduler, slot) => {
      const withIt = (load[slot] as number) + model.rowCost * (scheduler.size > 0 ? 1 : RUN_COST_IN_ROWS + 1);
      if (withIt < bestLoad) {
        best = slot;
        bestLoad = withIt;
      }
    });
    return best;
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
      for (const model of models) this.models.get(model.key)?.replicas[slot]?.fail(error);
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
