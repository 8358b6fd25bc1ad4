// A fixed set of worker threads, each holding a session for every model. One request per thread at a
// time; the rest wait in a FIFO. A thread that dies fails its request and is replaced.
import type { Worker } from 'node:worker_threads';
import type { Abortable } from '../lib/abortable.js';
import { joinQueue, type Waiter } from '../lib/abortable-queue.js';
import { startThread } from '../lib/thread.js';
import type {
  Computed,
  ModelLoadRequest,
  ModelLoadResult,
  ThreadReply,
  ThreadRequest,
} from './inference-messages.js';
import { ModelRunError } from './model-run-error.js';
import type { Tensor } from './tensor.js';

interface Task extends Waiter<Computed> {
  key: string;
  inputs: Record<string, Tensor>;
  outputs: string[];
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task: Task | undefined;
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private models: ModelLoadRequest[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    /** Threads in the pool. */
    readonly size: number,
    private readonly onThreadError: (error: Error) => void,
  ) {}

  /** Starts the threads and loads every model into each; resolves with the first thread's load results. */
  async start(models: ModelLoadRequest[]): Promise<ModelLoadResult[]> {
    this.models = models;
    const loads = Array.from({ length: this.size }, () => this.spawn());
    const [first] = await Promise.all(loads);
    return first ?? [];
  }

  get pending(): number {
    return this.waiting.length + this.slots.filter((slot) => slot.task !== undefined).length;
  }

  /** Runs on the next free thread. When `signal` aborts while the task still waits, it leaves the queue. */
  run(key: string, inputs: Record<string, Tensor>, outputs: string[], signal?: Abortable): Promise<Computed> {
    if (this.closed) return Promise.reject(new Error('inference pool is closed'));
    const result = joinQueue<Computed, Task>(this.waiting, signal, (settle) => ({
      key,
      inputs,
      outputs,
      ...settle,
    }));
    this.dispatch();
    return result;
  }

  /**
   * Refuses waiting requests, lets running ones finish, then ends the threads. Terminating a thread inside a
   * native onnxruntime run aborts the whole process, so in-flight runs are always awaited.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.waiting.splice(0)) task.reject(new Error('inference pool is closed'));
    while (this.slots.some((slot) => slot.task !== undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.allSettled(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): Promise<ModelLoadResult[]> {
    const worker = startThread(import.meta.url, 'inference-thread');
    const slot: Slot = { worker, ready: false, task: undefined };
    this.slots.push(slot);
    return new Promise((resolveLoad, rejectLoad) => {
      worker.on('message', (reply: ThreadReply) => {
        if (reply.kind === 'loaded') {
          slot.ready = true;
          resolveLoad(reply.results);
          this.dispatch();
          return;
        }
        const task = slot.task;
        slot.task = undefined;
        if (reply.kind === 'result') {
          task?.resolve({ outputs: reply.outputs, computeSeconds: reply.computeSeconds });
        } else task?.reject(reply.modelRun ? new ModelRunError(reply.message) : new Error(reply.message));
        this.dispatch();
      });
      worker.on('error', (error) => {
        this.onThreadError(error);
        rejectLoad(error);
      });
      worker.on('exit', () => {
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        slot.task?.reject(new Error('inference thread exited during the request'));
        slot.task = undefined;
        // Replace a thread that crashed while serving; one that never loaded would only crash again.
        if (!this.closed && slot.ready) void this.spawn().catch(this.onThreadError);
      });
      const load: ThreadRequest = { kind: 'load', models: this.models };
      worker.postMessage(load);
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (!slot.ready || slot.task !== undefined) continue;
      const task = this.waiting.shift() as Task;
      slot.task = task;
      const id = this.nextId++;
      const message: ThreadRequest = {
        kind: 'run',
        id,
        key: task.key,
        inputs: task.inputs,
        outputs: task.outputs,
      };
      slot.worker.postMessage(message);
    }
  }
}
