// A fixed set of inference workers, each holding a session for every model of the pool: threads, or for an
// uploaded model processes (inference-isolation.ts). One request per worker at a time; the rest wait in a
// FIFO. A worker that dies fails its request and is replaced. A process's run whose requests have all gone
// (deadline passed, client left) is given the isolation's grace to end, then its process is killed: the
// next requests are served by its replacement instead of waiting behind a run that may last hours.
import { UnavailableError } from '../errors.js';
import type { Abortable } from '../lib/abortable.js';
import { joinQueue, type Waiter } from '../lib/abortable-queue.js';
import { type InferenceWorker, type Isolation, startInferenceWorker } from './inference-isolation.js';
import type {
  Computed,
  ModelLoadRequest,
  ModelLoadResult,
  WorkerReply,
  WorkerRequest,
} from './inference-messages.js';
import { ModelRunError } from './model-run-error.js';
import type { Tensor } from './tensor.js';

interface Task extends Waiter<Computed> {
  key: string;
  inputs: Record<string, Tensor>;
  outputs: string[];
  signal: Abortable | undefined;
}

interface Slot {
  worker: InferenceWorker;
  /** `ending`: killed, and its exit not yet seen; it takes no more tasks. */
  state: 'loading' | 'ready' | 'ending';
  task: Task | undefined;
  /** Stops watching the running task's signal. */
  unwatch: () => void;
}

const THREADS: Isolation = { kind: 'thread' };

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private models: ModelLoadRequest[] = [];
  /** Workers that served and died, whose places are still to fill. */
  private vacancies = 0;
  private nextId = 0;
  private closed = false;

  constructor(
    /** Workers in the pool. */
    readonly size: number,
    private readonly onWorkerError: (error: Error) => void,
    private readonly isolation: Isolation = THREADS,
  ) {}

  /**
   * Starts the workers and loads every model into each; resolves with the first one's load results, and
   * rejects when a worker cannot start or dies before it has loaded.
   */
  async start(models: ModelLoadRequest[]): Promise<ModelLoadResult[]> {
    this.models = models;
    const loads = Array.from({ length: this.size }, () => this.spawn());
    const [first] = await Promise.all(loads);
    return first ?? [];
  }

  get pending(): number {
    return this.waiting.length + this.slots.filter((slot) => slot.task !== undefined).length;
  }

  /** Runs on the next free worker. When `signal` aborts while the task still waits, it leaves the queue. */
  run(key: string, inputs: Record<string, Tensor>, outputs: string[], signal?: Abortable): Promise<Computed> {
    if (this.closed) return Promise.reject(new Error('inference pool is closed'));
    const result = joinQueue<Computed, Task>(this.waiting, signal, (settle) => ({
      key,
      inputs,
      outputs,
      signal,
      ...settle,
    }));
    this.refill();
    this.dispatch();
    return result;
  }

  /**
   * Refuses waiting requests and ends the workers. Threads are let finish their runs first (terminating a
   * thread inside a native onnxruntime run aborts the whole process); processes are killed at once, failing
   * what they run (503), since nobody waits for those answers any more (an unloaded model, a server that
   * has drained its requests).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.waiting.splice(0)) task.reject(new Error('inference pool is closed'));
    if (this.isolation.kind === 'process') {
      for (const slot of this.slots) {
        slot.unwatch();
        slot.task?.reject(
          new UnavailableError(
            "the model's process was stopped while this request ran: the model was unloaded or the server is closing",
          ),
        );
        slot.task = undefined;
      }
    }
    while (this.slots.some((slot) => slot.task !== undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.allSettled(this.slots.map((slot) => slot.worker.stop()));
  }

  /**
   * Starts a worker into the pool and loads the models into it; throws when it cannot start. A
   * `replacement` that cannot load every model again is stopped and its load rejected: it would answer
   * each request for the model that failed with an error.
   */
  private spawn(replacement = false): Promise<ModelLoadResult[]> {
    const worker = startInferenceWorker(this.isolation);
    const slot: Slot = { worker, state: 'loading', task: undefined, unwatch: () => undefined };
    this.slots.push(slot);
    const leave = () => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
    };
    return new Promise((resolveLoad, rejectLoad) => {
      worker.onMessage((reply: WorkerReply) => {
        if (reply.kind === 'loaded') {
          const failed = replacement ? reply.results.find((result) => result.error !== undefined) : undefined;
          if (failed !== undefined) {
            leave();
            void worker.stop();
            rejectLoad(new Error(`could not load ${failed.key} again: ${failed.error}`));
            return;
          }
          slot.state = 'ready';
          resolveLoad(reply.results);
          this.dispatch();
          return;
        }
        const task = slot.task;
        slot.task = undefined;
        slot.unwatch();
        if (reply.kind === 'result') {
          task?.resolve({ outputs: reply.outputs, computeSeconds: reply.computeSeconds });
        } else task?.reject(reply.modelRun ? new ModelRunError(reply.message) : new Error(reply.message));
        this.dispatch();
      });
      worker.onError((error) => {
        this.onWorkerError(error);
        // A process that could not start reports only this; a thread's uncaught error is followed by its exit.
        if (slot.state === 'loading') {
          leave();
          rejectLoad(error);
        }
      });
      worker.onExit((how) => {
        leave();
        slot.unwatch();
        const task = slot.task;
        slot.task = undefined;
        if (task !== undefined) task.reject(this.deathOf(how));
        if (slot.state === 'loading') {
          rejectLoad(new Error(`its inference ${this.isolation.kind} ended (${how}) before it had loaded`));
          return;
        }
        // Replace a worker that died while serving; one that never loaded would only die again.
        if (!this.closed) {
          this.vacancies++;
          this.refill();
        }
      });
      const load: WorkerRequest = { kind: 'load', models: this.models };
      worker.post(load);
    });
  }

  /**
   * How a request learns that its worker died under it. A process ends inside a run when the run's values
   * took it down (RLIMIT_DATA reached by V8, a fatal error in native code) or it was killed from outside:
   * a ModelRunError, which a micro-batch answers by running each of its requests again alone, so only
   * the request that brings it down again hears of it.
   */
  private deathOf(how: string): Error {
    if (this.isolation.kind === 'thread') return new Error('inference thread exited during the request');
    return new ModelRunError(
      `the model cannot compute this input: its process ended (${how}) during the run — out of memory (UPLOADED_MODEL_MEMORY_MB), a fatal error in native code, or killed from outside`,
    );
  }

  /**
   * Fills the places of workers that died while serving. When a replacement cannot start (the machine
   * refuses a process) or cannot load the models again, the requests waiting for it are refused (503)
   * rather than left waiting for nothing; the next request tries again.
   */
  private refill(): void {
    while (!this.closed && this.vacancies > 0) {
      this.vacancies--;
      const refuse = (error: Error) => {
        this.vacancies++;
        const refusal = new UnavailableError(
          `the model's inference ${this.isolation.kind} could not be restarted: ${error.message}`,
        );
        for (const task of this.waiting.splice(0)) task.reject(refusal);
      };
      try {
        this.spawn(true).catch(refuse);
      } catch (error) {
        refuse(error as Error);
        return;
      }
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.state !== 'ready' || slot.task !== undefined) continue;
      const task = this.waiting.shift() as Task;
      slot.task = task;
      this.watch(slot, task);
      const message: WorkerRequest = {
        kind: 'run',
        id: this.nextId++,
        key: task.key,
        inputs: task.inputs,
        outputs: task.outputs,
      };
      try {
        slot.worker.post(message);
      } catch (error) {
        // A request that cannot be sent fails alone; the worker stays free.
        slot.unwatch();
        slot.task = undefined;
        task.reject(error as Error);
      }
    }
  }

  /** A process whose run outlives its requests by the grace is killed; the task fails with their reason. */
  private watch(slot: Slot, task: Task): void {
    const { isolation } = this;
    const { signal } = task;
    const kill = slot.worker.kill;
    if (isolation.kind !== 'process' || signal === undefined || kill === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => {
        if (slot.task !== task) return;
        slot.task = undefined;
        slot.state = 'ending';
        task.reject(signal.reason as Error);
        kill();
      }, isolation.cancelGraceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    slot.unwatch = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      slot.unwatch = () => undefined;
    };
  }
}
