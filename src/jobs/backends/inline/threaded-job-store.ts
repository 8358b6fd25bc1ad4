// The job store as the inline queue uses it: the same calls as JobStore, each answered by the store's own
// thread (job-store-thread.ts), so a disk that hangs stalls that thread instead of the event loop. A call
// the disk does not answer within the timeout is a 503 storage-unavailable; calls still waiting behind it
// leave the queue when their own time is up and never reach the database, so only the one under way when
// the disk hung can still take effect once it answers.
import { StorageUnavailableError } from '../../../errors.js';
import { settleWithin } from '../../../lib/settle-within.js';
import { ThreadPool } from '../../../lib/thread-pool.js';
import { type JobStore, JobStoreError } from './job-store.js';

type StoreMethod = {
  [K in keyof JobStore]: JobStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof JobStore];

/** One call as the store's thread receives it. */
export type JobStoreCall = {
  [K in StoreMethod]: { method: K; args: Parameters<JobStore[K]> };
}[StoreMethod];

/** The first call opens the database: the thread starts and SQLite checks the whole file. */
const OPEN_TIMEOUT_MS = 30_000;

export class ThreadedJobStore {
  private readonly thread: ThreadPool<JobStoreCall, unknown>;

  constructor(
    path: string,
    readonly timeoutMs: number,
    onThreadError: (error: Error) => void,
  ) {
    this.thread = new ThreadPool(import.meta.url, 'job-store-thread', 1, onThreadError, path);
  }

  /** `JobStore[method](...args)` in the store's thread; 503 storage-unavailable past the timeout. */
  call<K extends StoreMethod>(method: K, ...args: Parameters<JobStore[K]>): Promise<ReturnType<JobStore[K]>> {
    return this.callWithin(this.timeoutMs, method, ...args);
  }

  /**
   * `JobStore[method](...args)` for work no client waits on (starting queued jobs): it waits as long as the
   * disk does and is never dropped, so what it changed is never unknown to its caller (a start that timed
   * out and landed later left its job `running` with nothing running it).
   */
  callPatiently<K extends StoreMethod>(
    method: K,
    ...args: Parameters<JobStore[K]>
  ): Promise<ReturnType<JobStore[K]>> {
    return rebuilt(this.thread.run({ method, args } as JobStoreCall) as Promise<ReturnType<JobStore[K]>>);
  }

  /**
   * JobStore.recoverInterrupted, the first call, which opens the database: given longer than the others,
   * for the thread starts and SQLite's integrity check reads the whole file.
   */
  recoverInterrupted(finishedAt: string): Promise<ReturnType<JobStore['recoverInterrupted']>> {
    return this.callWithin(Math.max(this.timeoutMs, OPEN_TIMEOUT_MS), 'recoverInterrupted', finishedAt);
  }

  private callWithin<K extends StoreMethod>(
    timeoutMs: number,
    method: K,
    ...args: Parameters<JobStore[K]>
  ): Promise<ReturnType<JobStore[K]>> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const answer = this.thread.run({ method, args } as JobStoreCall, [], timeout);
    return rebuilt(
      settleWithin(answer as Promise<ReturnType<JobStore[K]>>, timeout, () =>
        StorageUnavailableError.unanswered(
          'DATA_DIR (the job store)',
          timeoutMs,
          'retry later (a job submission with the same Idempotency-Key returns the job if it was stored)',
        ),
      ),
    );
  }

  /** Closes the database and ends its thread; a disk that does not answer leaves the thread to the exit. */
  async close(): Promise<void> {
    const failure = await this.call('close').then(
      () => undefined,
      (error: Error) => error,
    );
    // A thread stuck in a write to a hung disk cannot be ended; the process's exit ends it.
    if (failure instanceof StorageUnavailableError) return;
    await this.thread.close();
    if (failure !== undefined) throw failure;
  }
}

/** A JobStoreError thrown in the thread arrives by name; it is one again here. */
function rebuilt<T>(answer: Promise<T>): Promise<T> {
  return answer.catch((error: Error) => {
    throw error.name === 'JobStoreError' ? new JobStoreError(error.message) : error;
  });
}
