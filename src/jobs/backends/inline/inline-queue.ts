// The inline backend: jobs run in child processes of this one (job-process.ts), so `npm start` alone serves
// every route, and they are kept in a SQLite database under DATA_DIR (job-store.ts) with their artifacts
// beside it, so a restart loses nothing that was acknowledged: queued jobs run after it, jobs that were
// running are run again (at least once, as with BullMQ), finished ones keep their results and artifacts,
// and an Idempotency-Key retried after it returns the same job. Progress and live events are this process's
// own. The store answers from its own thread (threaded-job-store.ts): a disk that hangs makes job requests
// 503, not the server stall.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_STORAGE_TIMEOUT_MS, type JobConfig, type ModelAccess } from '../../../config.js';
import {
  ConflictError,
  InvalidInputError,
  isStorageError,
  NotFoundError,
  StorageUnavailableError,
  UnavailableError,
} from '../../../errors.js';
import type { Log } from '../../../lib/log.js';
import { writtenWithin } from '../../../lib/settle-within.js';
import { JOB_STATES, type JobState } from '../../../schemas/jobs.js';
import { executeJob } from '../../execute.js';
import {
  type Artifact,
  FINISHED_STATES,
  type JobCount,
  type JobEvent,
  type JobProgress,
  type JobRecord,
  type SubmitOutcome,
  type SubmitRequest,
} from '../../job-record.js';
import type { JobTokens } from '../../processor.js';
import type { JobListFilter, JobQueue } from '../../queue.js';
import { FileArtifactStore } from './artifact-files.js';
import type { ArtifactEntry, StoredJob } from './job-store.js';
import { ThreadedJobStore } from './threaded-job-store.js';

/** How often a store write that the disk refused (full, failed or hung) is tried again. */
const STORE_RETRY_MS = 2000;
/**
 * How often the store's files are checked for a removal under the running server (JobStore.restoreIfRemoved):
 * what was stored meanwhile is in the open database and goes back with it, unless the process dies first.
 */
const STORE_FILE_CHECK_MS = 1000;

interface Running {
  type: string;
  controller: AbortController;
  /** Set when the queue closes: the job stops, stays `running` in the store and is run again at the next start. */
  interrupted: boolean;
  progress: JobProgress;
  done: Promise<void>;
}

export interface InlineQueueOptions {
  /** Longest a store call may wait for the disk before it is a 503 (STORAGE_TIMEOUT_MS). @defaultValue 5000 */
  storageTimeoutMs?: number;
  /** Hears the language-model tokens the jobs decode (the API's token counters). */
  onTokens?: (tokens: JobTokens) => void;
}

export class InlineQueue implements JobQueue {
  readonly backend = 'inline' as const;
  private readonly files: FileArtifactStore;
  private readonly running = new Map<string, Running>();
  private readonly events = new EventEmitter();
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly fileCheck: NodeJS.Timeout;
  private fileCheckRunning = false;
  /** The last failure to write the store's file back, said once until it changes. */
  private fileCheckFailure: string | undefined;
  /**
   * Starting jobs and cancelling them take turns: with the store a message away, a cancel could otherwise
   * finish a queued job that a start has just taken, and the job would run though its client was told it
   * was cancelled.
   */
  private turn: Promise<unknown> = Promise.resolve();
  private pumpWaiting = false;
  private closing: Promise<void> | undefined;
  private storeClosed = false;

  /**
   * Opens (or creates) DATA_DIR/jobs and recovers what a stop left; `types` are the job type names, for
   * counts. A database another process holds, or a damaged one, is a JobStoreError.
   */
  static async open(
    config: JobConfig,
    dataDir: string,
    models: ModelAccess,
    types: readonly string[],
    log: Log,
    options: InlineQueueOptions = {},
  ): Promise<InlineQueue> {
    const dir = join(dataDir, 'jobs');
    await mkdir(dir, { recursive: true });
    const store = new ThreadedJobStore(
      join(dir, 'queue.sqlite'),
      options.storageTimeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS,
      (error) => log.error({ err: error }, 'the job store thread failed'),
    );
    let recovered: Awaited<ReturnType<ThreadedJobStore['recoverInterrupted']>>;
    try {
      recovered = await store.recoverInterrupted(new Date().toISOString());
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
    if (recovered.requeued.length + recovered.cancelled.length + recovered.failed.length > 0) {
      log.warn(recovered, 'jobs the last process was running: queued again, cancelled or failed');
    }
    // Before jobs were kept, each process wrote artifacts to DATA_DIR/artifacts/inline-<pid>-<uuid>/ and a
    // crash left that directory behind for good: nothing reads it any more.
    void rm(join(dataDir, 'artifacts'), { recursive: true, force: true });
    return new InlineQueue(config, dir, store, models, types, log, options.onTokens);
  }

  private constructor(
    private readonly config: JobConfig,
    dir: string,
    private readonly store: ThreadedJobStore,
    private readonly models: ModelAccess,
    private readonly types: readonly string[],
    private readonly log: Log,
    private readonly onTokens: ((tokens: JobTokens) => void) | undefined,
  ) {
    this.files = new FileArtifactStore(join(dir, 'artifacts'));
    this.events.setMaxListeners(0);
    // Artifacts written by a try that never got recorded (the process died in between) have no listing.
    void this.store
      .call('jobsWithArtifacts')
      .then((recorded) => this.files.sweep(recorded))
      .then((removed) => removed > 0 && this.log.warn({ removed }, 'removed unrecorded job artifacts'))
      .catch((error: Error) => this.log.error({ err: error }, 'sweeping job artifacts failed'));
    this.fileCheck = setInterval(() => void this.checkStoreFile(), STORE_FILE_CHECK_MS);
    this.fileCheck.unref();
    setImmediate(() => this.pump());
  }

  async submit(request: SubmitRequest): Promise<SubmitOutcome> {
    if (this.closing !== undefined) throw new UnavailableError('the server is shutting down');
    const record: JobRecord = {
      id: `${request.type}_${randomUUID()}`,
      type: request.type,
      state: 'queued',
      seed: request.seed,
      params: request.params,
      progress: { fraction: 0 },
      attempts: 0,
      createdAt: new Date().toISOString(),
      artifacts: [],
    };
    let outcome: { job: StoredJob; created: boolean };
    try {
      outcome = await this.store.call(
        'insert',
        { record, fingerprint: request.fingerprint, cancelRequested: false, recoveries: 0, runAfter: 0 },
        request.idempotencyKey,
      );
    } catch (error) {
      // A disk that did not answer in time may still store the job once it does; it must start then.
      if (error instanceof StorageUnavailableError) this.wakeAfter(STORE_RETRY_MS);
      // By name: it was thrown in the store's thread.
      if ((error as Error).name === 'RangeError')
        throw new InvalidInputError(`params cannot be stored: ${(error as Error).message}`);
      throw error;
    }
    if (!outcome.created) {
      if (outcome.job.fingerprint !== request.fingerprint) {
        throw new ConflictError('this Idempotency-Key was used for a job with other type, params or seed');
      }
      return { job: this.withLiveProgress(outcome.job.record), created: false };
    }
    setImmediate(() => this.pump());
    return { job: record, created: true };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    this.assertStoreOpen();
    const stored = await this.store.call('get', id);
    return stored === undefined ? undefined : this.withLiveProgress(stored.record);
  }

  async list(filter: JobListFilter): Promise<JobRecord[]> {
    this.assertStoreOpen();
    return (await this.store.call('list', filter)).map((record) => this.withLiveProgress(record));
  }

  async cancel(id: string): Promise<JobRecord> {
    this.assertStoreOpen();
    const cancelling = this.inTurn(async () => {
      const stored = await this.store.call('get', id);
      if (stored === undefined)
        throw new NotFoundError(`job '${id}' does not exist (or was removed by retention)`);
      if (FINISHED_STATES.has(stored.record.state)) {
        throw new ConflictError(`job '${id}' is already ${stored.record.state}`);
      }
      const running = this.running.get(id);
      if (running === undefined) {
        await this.finish(id, 'cancelled', {
          progress: stored.record.progress,
          error: 'cancelled before it started',
        });
      } else {
        // Stored first: should the process stop before the job does, the restart cancels it instead of rerunning.
        await this.store.call('requestCancel', id);
        running.controller.abort();
      }
    });
    // Its turn may come after a start that waits for a hung disk: the client is answered in time.
    await writtenWithin(
      cancelling,
      this.store.timeoutMs,
      'DATA_DIR (the job store)',
      'the cancel may still happen once it answers; retry it later',
    );
    return (await this.get(id)) as JobRecord;
  }

  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  async params(id: string, reserve?: (bytes: number) => void): Promise<string | undefined> {
    this.assertStoreOpen();
    const bytes = await this.store.call('paramsBytes', id);
    if (bytes === undefined) return undefined;
    reserve?.(bytes);
    return this.store.call('paramsJson', id);
  }

  async artifact(id: string, name: string, reserve?: (bytes: number) => void): Promise<Artifact | undefined> {
    this.assertStoreOpen();
    const entry = await this.store.call('artifact', id, name);
    if (entry === undefined) return undefined;
    reserve?.(entry.bytes);
    return this.files.read(id, entry);
  }

  async counts(): Promise<JobCount[]> {
    this.assertStoreOpen();
    const counted = await this.store.call('counts');
    const stored = new Map(counted.map(({ type, state, count }) => [`${type}/${state}`, count]));
    return this.types.flatMap((type) =>
      JOB_STATES.map((state) => ({ type, state, count: stored.get(`${type}/${state}`) ?? 0 })),
    );
  }

  async queued(type: string): Promise<number> {
    this.assertStoreOpen();
    return this.store.call('countQueued', type);
  }

  async ping(): Promise<void> {
    if (this.closing !== undefined) throw new UnavailableError('the job queue is closing');
  }

  /**
   * Stops starting jobs and lets running ones finish until the deadline; past it they are stopped and stay
   * `running` in the store, to be run again at the next start. Queued jobs stay queued. Safe to call twice.
   */
  close(deadlineMs = 30_000): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.wakeTimer);
      clearInterval(this.fileCheck);
      // A start under way finishes (and is waited for below); the pumps after it start nothing.
      await this.turn;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const running of this.running.values()) {
            running.interrupted = true;
            running.controller.abort();
          }
          resolve();
        }, deadlineMs);
      });
      const all = () => Promise.allSettled([...this.running.values()].map((running) => running.done));
      await Promise.race([all(), deadline]);
      // Stopped processors end at their next step; give them that step.
      await all();
      clearTimeout(timer);
      this.storeClosed = true;
      await this.store.close();
    })();
    return this.closing;
  }

  /** Writes the store's file back if it was removed under the running server (JobStore.restoreIfRemoved). */
  private async checkStoreFile(): Promise<void> {
    if (this.fileCheckRunning || this.closing !== undefined) return;
    this.fileCheckRunning = true;
    try {
      const restored = await this.store.call('restoreIfRemoved');
      if (restored !== undefined) {
        this.log.error({ restored }, "the job store's file was removed or replaced under the running server");
      }
      this.fileCheckFailure = undefined;
    } catch (error) {
      // A failed or hung disk (the storage probe takes readiness down): the next check tries again.
      const message = (error as Error).message;
      if (message !== this.fileCheckFailure) {
        this.log.error({ err: error }, "checking the job store's file failed; trying again every second");
      }
      this.fileCheckFailure = message;
    } finally {
      this.fileCheckRunning = false;
    }
  }

  /** Reads go on while the queue drains; once its store is closed, every call is a 503. */
  private assertStoreOpen(): void {
    if (this.storeClosed) throw new UnavailableError('the job queue is closed');
  }

  /** Runs `work` after every start and cancel asked for before it has finished. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** Starts queued jobs in turn; one pump waiting for its turn covers every request made meanwhile. */
  private pump(): void {
    if (this.pumpWaiting || this.closing !== undefined) return;
    this.pumpWaiting = true;
    void this.inTurn(() => {
      this.pumpWaiting = false;
      return this.startRunnable();
    });
  }

  /** Starts the oldest queued jobs of each type up to its free slots, and wakes up for the next retry. */
  private async startRunnable(): Promise<void> {
    if (this.closing !== undefined) return;
    clearTimeout(this.wakeTimer);
    const now = Date.now();
    try {
      for (const type of this.types) {
        let free = this.config.concurrency;
        for (const running of this.running.values()) if (running.type === type) free--;
        if (free <= 0) continue;
        for (const job of await this.store.callPatiently('runnable', type, now, free)) await this.start(job);
      }
      const next = await this.store.callPatiently('nextRetryAfter', now);
      if (next !== undefined) this.wakeAfter(next - now);
    } catch (error) {
      // The store could not be read or could not mark a job started (a full or failed disk): the jobs stay
      // queued. Thrown from a timer, this was an uncaught exception, which stops the server.
      this.log.error({ err: error }, 'starting queued jobs failed; trying again shortly');
      this.wakeAfter(STORE_RETRY_MS);
    }
  }

  private wakeAfter(ms: number): void {
    if (this.closing !== undefined) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.pump(), ms);
  }

  private async start(job: StoredJob): Promise<void> {
    const { id, type } = job.record;
    await this.store.callPatiently('start', id, new Date().toISOString());
    const running: Running = {
      type,
      controller: new AbortController(),
      interrupted: false,
      progress: job.record.progress,
      done: Promise.resolve(),
    };
    this.running.set(id, running);
    this.emit(id, { kind: 'state', state: 'running' });
    running.done = this.runOnce(job, running)
      .then((record) => (record === undefined ? undefined : this.recordOutcome(id, record)))
      .catch((error: Error) => {
        // Only the store itself can fail here; the job stays `running` there and is run again at the next start.
        this.log.error({ err: error, jobId: id }, 'recording a job outcome failed');
      })
      .finally(() => {
        this.running.delete(id);
        this.pump();
      });
  }

  /**
   * Records a try's outcome. While the disk refuses it (full, or failed until it is remounted) it tries
   * again every STORE_RETRY_MS, the job still `running` (it stayed so for good before, its clients waiting
   * until a restart ran it again), until the queue closes.
   */
  private async recordOutcome(id: string, record: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await record();
        return;
      } catch (error) {
        if (!isStorageError(error) || this.closing !== undefined) throw error;
        this.log.error({ err: error, jobId: id }, 'the disk refused the job outcome; trying again shortly');
        await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS));
      }
    }
  }

  /** Runs one try of the job; resolves with what records its outcome (nothing when the queue stopped it). */
  private async runOnce(job: StoredJob, running: Running): Promise<(() => Promise<void>) | undefined> {
    const { id, type, params, seed } = job.record;
    const attempts = job.record.attempts + 1;
    let written: ArtifactEntry[] = [];
    const outcome = await executeJob(
      id,
      { type, params, seed, models: this.models },
      {
        store: {
          put: async (jobId, artifacts) => {
            written = await this.files.write(jobId, artifacts);
          },
        },
        artifactLimit: this.config.artifactLimit,
        cancelGraceMs: this.config.cancelGraceMs,
        signal: running.controller.signal,
        onProgress: (progress) => {
          running.progress = progress;
          this.emit(id, { kind: 'progress', progress });
        },
        ...(this.onTokens === undefined ? {} : { onTokens: this.onTokens }),
      },
    );
    if (running.interrupted) return undefined;
    if (outcome.kind === 'completed') {
      const progress = { ...running.progress, fraction: 1 };
      return () => this.finish(id, 'completed', { progress, result: outcome.result }, written);
    }
    if (outcome.kind === 'cancelled') {
      return () => this.finish(id, 'cancelled', { progress: running.progress, error: outcome.message });
    }
    if (outcome.retryable && attempts < this.config.attempts) {
      // Exponential backoff, as BullMQ's: delay · 2^(tries − 1); the time to retry is stored with the job.
      const runAfter = Date.now() + this.config.backoffMs * 2 ** (attempts - 1);
      return async () => {
        await this.store.call('retryLater', id, outcome.message, runAfter);
        this.emit(id, { kind: 'state', state: 'queued' });
      };
    }
    return () => this.finish(id, 'failed', { progress: running.progress, error: outcome.message });
  }

  private async finish(
    id: string,
    state: JobState,
    fields: { progress: JobProgress; result?: unknown; error?: string },
    artifacts: ArtifactEntry[] = [],
  ): Promise<void> {
    await this.store.call(
      'finish',
      id,
      state,
      { ...fields, finishedAt: new Date().toISOString() },
      artifacts,
    );
    const job = (await this.store.call('get', id))?.record;
    if (job !== undefined) this.emit(id, { kind: 'finished', job });
    this.events.removeAllListeners(id);
    try {
      await this.prune();
    } catch (error) {
      // The job is recorded; retention catches up at the next finish.
      this.log.warn({ err: error }, 'removing expired jobs failed');
    }
  }

  private emit(id: string, event: JobEvent): void {
    this.events.emit(id, event);
  }

  /** A running job's record shows the progress it reported last (kept in memory, not in the store). */
  private withLiveProgress(record: JobRecord): JobRecord {
    const running = this.running.get(record.id);
    return running === undefined || record.state !== 'running'
      ? record
      : { ...record, progress: running.progress };
  }

  /** Retention: finished jobs older than the age limit, or beyond the count per type and state, are removed. */
  private async prune(): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.retentionSeconds * 1000).toISOString();
    for (const id of await this.store.call('prune', this.config.retentionCount, cutoff)) {
      void this.files
        .remove(id)
        .catch((error: Error) => this.log.warn({ err: error, jobId: id }, 'artifact removal failed'));
    }
  }
}
