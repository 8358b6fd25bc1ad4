// A fixed set of worker threads running one kind of task, so CPU-bound work (decoding images) never blocks
// the event loop: a task goes to a free thread or waits in a FIFO, a waiting task leaves when its signal
// aborts, and a thread that dies fails its task and is replaced. Threads start with the first task, so a
// process that never needs them never pays for them. The thread side is `serveTasks`.
import { parentPort, type Worker } from 'node:worker_threads';
import type { Abortable } from './abortable.js';
import { joinQueue, type Waiter } from './abortable-queue.js';
import { startThread } from './thread.js';

type TaskMessage<Request> = { id: number; request: Request };
type TaskReply<Reply> =
  | { id: number; ok: true; reply: Reply }
  | { id: number; ok: false; name: string; message: string; code?: string };

interface Task<Request, Reply> extends Waiter<Reply> {
  request: Request;
  transfer: ArrayBuffer[];
}

interface Slot<Request, Reply> {
  worker: Worker;
  task: Task<Request, Reply> | undefined;
}

export class ThreadPool<Request, Reply> {
  private readonly slots: Array<Slot<Request, Reply>> = [];
  private readonly waiting: Array<Task<Request, Reply>> = [];
  private nextId = 0;
  private closed = false;

  /** `entry` is the thread's module next to `base` (an import.meta.url), and `data` its threadData(), as for startThread. */
  constructor(
    private readonly base: string,
    private readonly entry: string,
    readonly size: number,
    private readonly onThreadError: (error: Error) => void,
    private readonly data?: unknown,
  ) {}

  /** Tasks waiting or running. */
  get pending(): number {
    return this.waiting.length + this.slots.filter((slot) => slot.task !== undefined).length;
  }

  /** Runs on the next free thread; `transfer` moves buffers instead of copying them. */
  run(request: Request, transfer: ArrayBuffer[] = [], signal?: Abortable): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('thread pool is closed'));
    const reply = joinQueue<Reply, Task<Request, Reply>>(this.waiting, signal, (settle) => ({
      request,
      transfer,
      ...settle,
    }));
    while (this.slots.length < this.size) this.spawn();
    this.dispatch();
    return reply;
  }

  /** Refuses waiting tasks, lets running ones finish, then ends the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.waiting.splice(0)) task.reject(new Error('thread pool is closed'));
    while (this.slots.some((slot) => slot.task !== undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.allSettled(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): void {
    const worker = startThread(this.base, this.entry, this.data);
    const slot: Slot<Request, Reply> = { worker, task: undefined };
    this.slots.push(slot);
    worker.on('message', (message: TaskReply<Reply>) => {
      const task = slot.task;
      slot.task = undefined;
      if (message.ok) task?.resolve(message.reply);
      else
        task?.reject(Object.assign(new Error(message.message), { name: message.name, code: message.code }));
      this.dispatch();
    });
    worker.on('error', (error) => this.onThreadError(error));
    worker.on('exit', () => {
      this.slots.splice(this.slots.indexOf(slot), 1);
      slot.task?.reject(new Error('worker thread exited during the task'));
      if (!this.closed) {
        this.spawn();
        this.dispatch();
      }
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.task !== undefined) continue;
      const task = this.waiting.shift() as Task<Request, Reply>;
      slot.task = task;
      const message: TaskMessage<Request> = { id: this.nextId++, request: task.request };
      try {
        slot.worker.postMessage(message, task.transfer);
      } catch (error) {
        // A request that cannot be sent (a buffer that cannot move) fails alone; the thread stays free.
        slot.task = undefined;
        task.reject(error as Error);
      }
    }
  }
}

/**
 * The thread side: answers each task with `handle`'s reply (its `transfer` buffers moved, not copied) or
 * with the error it threw, by name, message and code (an errno's, SQLite's: what callers tell errors by).
 */
export function serveTasks<Request, Reply>(
  handle: (request: Request) => { reply: Reply; transfer?: ArrayBuffer[] },
): void {
  const port = parentPort;
  if (port === null) throw new Error('serveTasks must run in a worker thread');
  port.on('message', ({ id, request }: TaskMessage<Request>) => {
    let answer: TaskReply<Reply>;
    let transfer: ArrayBuffer[] = [];
    try {
      const handled = handle(request);
      answer = { id, ok: true, reply: handled.reply };
      transfer = handled.transfer ?? [];
    } catch (error) {
      const { name, message, code } = error as NodeJS.ErrnoException;
      answer = { id, ok: false, name, message, ...(typeof code === 'string' ? { code } : {}) };
    }
    port.postMessage(answer, transfer);
  });
}
