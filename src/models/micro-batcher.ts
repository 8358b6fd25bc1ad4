// Dynamic batching for models whose first dimension is the batch (Triton's dynamic_batching, in process):
// a request waits at most `maxWaitMs` from its arrival for company (time spent behind a running batch
// counts), a batch never exceeds `maxBatchSize` rows, and the queue is bounded — a full queue is an
// OverloadedError (503 + Retry-After), never unbounded memory.

import { OverloadedError } from '../errors.js';
import { type Abortable, everyAborted } from '../lib/abortable.js';
import { joinQueue, type Waiter } from '../lib/abortable-queue.js';
import type { Computed } from './inference-messages.js';
import { ModelRunError } from './model-run-error.js';
import { allocate, type Tensor } from './tensor.js';

/**
 * Runs a batch of `rows` rows; `signal` aborts once every request in it has gone (then a batch still waiting
 * can leave).
 */
export type RunBatch = (
  inputs: Record<string, Tensor>,
  rows: number,
  signal: Abortable | undefined,
) => Promise<Computed>;

/** Each request of a batch gets its own rows and the batch's compute time. */
interface Pending extends Waiter<Computed> {
  inputs: Record<string, Tensor>;
  rows: number;
  signal: Abortable | undefined;
  arrivedAt: number;
}

export interface MicroBatcherOptions {
  /** Rows per batch at most (the model's max_batch_size). */
  maxBatchSize: number;
  /** Longest a request waits for a batch to fill, ms. */
  maxWaitMs: number;
  /** Requests waiting at most; one more is refused. */
  queueLimit: number;
  /** Batches sent to the model at once (the number of inference threads). */
  maxConcurrentBatches: number;
}

export class MicroBatcher {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    private readonly name: string,
    private readonly runBatch: RunBatch,
    private readonly options: MicroBatcherOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /**
   * Queues a request of `rows` rows (already validated to be ≤ maxBatchSize). When `signal` aborts while
   * the request still waits, it leaves the queue (its client went away or its deadline passed); once in a
   * batch it runs with the batch, unless every request of a batch that still waits for a thread is gone.
   */
  submit(inputs: Record<string, Tensor>, rows: number, signal?: Abortable): Promise<Computed> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.length >= this.options.queueLimit) {
      return Promise.reject(
        new OverloadedError(`${this.name}: ${this.queue.length} requests already waiting`),
      );
    }
    const outputs = joinQueue<Computed, Pending>(this.queue, signal, (settle) => ({
      inputs,
      rows,
      signal,
      arrivedAt: performance.now(),
      ...settle,
    }));
    this.schedule();
    return outputs;
  }

  private schedule(): void {
    if (this.inFlight >= this.options.maxConcurrentBatches || this.queue.length === 0) return;
    const waited = performance.now() - (this.queue[0] as Pending).arrivedAt;
    if (this.queuedRows() >= this.options.maxBatchSize || waited >= this.options.maxWaitMs) {
      this.flush();
    } else if (this.timer === undefined) {
      // Node fires a fractional delay at the whole millisecond below it (setTimeout(1.95) after ~1.1 ms):
      // round up, so no request waits less than it is promised.
      this.timer = setTimeout(() => this.flush(), Math.ceil(this.options.maxWaitMs - waited));
    }
  }

  private queuedRows(): number {
    return this.queue.reduce((sum, pending) => sum + pending.rows, 0);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0 && rows + (this.queue[0] as Pending).rows <= this.options.maxBatchSize) {
      const next = this.queue.shift() as Pending;
      batch.push(next);
      rows += next.rows;
    }
    if (batch.length === 0) return;
    this.inFlight++;
    // What did not fit goes next: at once if another batch may run and is full or due, or on its timer.
    this.schedule();
    // A batch of one (every batch at low load) goes as it came: no copies, and its own signal.
    const alone = batch.length === 1 ? batch[0] : undefined;
    const inputs =
      alone?.inputs ??
      concatenate(
        batch.map((pending) => pending.inputs),
        rows,
      );
    const signal = alone === undefined ? everyAborted(batch.map((pending) => pending.signal)) : alone.signal;
    this.runBatch(inputs, rows, signal)
      .then((computed) => {
        if (alone !== undefined) {
          alone.resolve(computed);
          return;
        }
        let offset = 0;
        for (const pending of batch) {
          pending.resolve({
            outputs: sliceRows(computed.outputs, offset, pending.rows),
            computeSeconds: computed.computeSeconds,
          });
          offset += pending.rows;
        }
      })
      .catch(async (error: Error) => {
        if (alone !== undefined || !(error instanceof ModelRunError)) {
          for (const pending of batch) pending.reject(error);
          return;
        }
        // The values of one request made the batch fail: each runs alone, so only its own client hears it.
        for (const pending of batch) {
          await this.runBatch(pending.inputs, pending.rows, pending.signal).then(
            pending.resolve,
            pending.reject,
          );
        }
      })
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}

/** Stacks requests along the first dimension. */
export function concatenate(requests: Record<string, Tensor>[], rows: number): Record<string, Tensor> {
  const first = requests[0] as Record<string, Tensor>;
  const result: Record<string, Tensor> = {};
  for (const [name, template] of Object.entries(first)) {
    const rowSize = template.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = allocate(template.datatype, rows * rowSize);
    let offset = 0;
    for (const request of requests) {
      const part = request[name] as Tensor;
      (data as Float32Array).set(part.data as Float32Array, offset);
      offset += part.data.length;
    }
    result[name] = { datatype: template.datatype, shape: [rows, ...template.shape.slice(1)], data };
  }
  return result;
}

/** Rows [start, start + count) of every output. */
export function sliceRows(
  outputs: Record<string, Tensor>,
  start: number,
  count: number,
): Record<string, Tensor> {
  const result: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const rowSize = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = tensor.data.slice(start * rowSize, (start + count) * rowSize);
    result[name] = { datatype: tensor.datatype, shape: [count, ...tensor.shape.slice(1)], data };
  }
  return result;
}
