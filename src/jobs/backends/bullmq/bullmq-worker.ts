// The BullMQ backend, worker side: one BullMQ Worker per job type, each job run in a child process so the
// process's event loop stays free to renew locks. Cancellation arrives as a flag in the job data (for jobs
// not yet started) and a message on the cancel channel (for jobs running here). A worker that dies leaves
// its jobs locked until the lock expires; another worker's stalled check then runs them again. A Redis that
// refuses writes (full, unable to save, a read-only replica) is waited for: the worker takes no jobs, and a
// job holds its artifacts and result, until Redis takes writes again (redis-write-refusal.ts).
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobConfig, ModelAccess } from '../../../config.js';
import type { Log } from '../../../lib/log.js';
import { executeJob } from '../../execute.js';
import type { JobTokens } from '../../processor.js';
import {
  CANCELLED_REASON,
  cancelChannel,
  type JobData,
  type JobReturn,
  patientConnection,
  queueName,
} from './bullmq-shared.js';
import { RedisArtifactStore } from './redis-artifacts.js';
import { REFUSAL, RedisWriteProbe, writeRefusal } from './redis-write-refusal.js';

export interface JobWorkerOptions {
  redisUrl: string;
  prefix: string;
  jobs: JobConfig;
  /** The job type names: one BullMQ worker each. */
  types: readonly string[];
  models: ModelAccess;
  log: Log;
  /** Hears the language-model tokens the jobs decode (the worker's token counters). */
  onTokens?: (tokens: JobTokens) => void;
}

export class JobWorker {
  private readonly workers: Worker<JobData, JobReturn>[] = [];
  private readonly active = new Map<string, AbortController>();
  private readonly connections: Redis[] = [];
  private readonly subscriber: Redis;
  private readonly commands: Redis;
  private readonly store: RedisArtifactStore;
  private readonly writes: RedisWriteProbe;
  /** Whether the workers are paused until Redis takes writes. */
  private paused = false;
  /** Aborted by close(): ends the waits for writes. */
  private readonly stopping = new AbortController();
  private closing: Promise<boolean> | undefined;

  constructor(private readonly options: JobWorkerOptions) {
    this.commands = this.track(patientConnection(options.redisUrl));
    this.store = new RedisArtifactStore(this.commands, options.prefix, options.jobs.retentionSeconds);
    this.writes = new RedisWriteProbe(this.commands, `${options.prefix}:worker-write-probe`);
    this.subscriber = this.track(patientConnection(options.redisUrl));
    void this.subscriber.subscribe(cancelChannel(options.prefix));
    this.subscriber.on('message', (_channel: string, jobId: string) => this.active.get(jobId)?.abort());
    for (const type of options.types) {
      const worker = new Worker<JobData, JobReturn>(queueName(type), (job) => this.process(job, type), {
        connection: this.track(patientConnection(options.redisUrl)),
        prefix: options.prefix,
        concurrency: options.jobs.concurrency,
        lockDuration: options.jobs.lockDurationMs,
        stalledInterval: options.jobs.stalledIntervalMs,
        maxStalledCount: 1,
      });
      worker.on('error', (error) => {
        const refusal = writeRefusal(error);
        if (refusal !== undefined) void this.pauseUntilWritesTaken(REFUSAL[refusal]);
        else options.log.error({ err: error, type }, 'job worker error');
      });
      worker.on('failed', (job, error) =>
        options.log.warn(
          { jobId: job?.id, type, attempts: job?.attemptsMade, reason: error.message },
          'job failed',
        ),
      );
      worker.on('completed', (job) => options.log.info({ jobId: job.id, type }, 'job completed'));
      worker.on('stalled', (jobId) =>
        options.log.warn({ jobId, type }, 'stalled job moved back to the queue'),
      );
      this.workers.push(worker);
    }
  }

  /** Resolves when every worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
  }

  /**
   * Stops taking jobs and lets running ones finish until the deadline. Resolves true when they did; false
   * when some were still running — those are not cancelled: once this process is gone their locks expire
   * and another worker runs them again (stalled-job recovery). Safe to call twice.
   */
  close(deadlineMs = 30_000): Promise<boolean> {
    this.closing ??= (async () => {
      this.stopping.abort();
      const graceful = Promise.allSettled(this.workers.map((worker) => worker.close())).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      });
      const finished = await Promise.race([graceful, deadline]);
      clearTimeout(timer);
      if (finished) for (const connection of this.connections) connection.disconnect();
      return finished;
    })();
    return this.closing;
  }

  /**
   * Takes no more jobs, of any type, until Redis takes writes again: BullMQ would ask for the next one
   * again at once, and be refused again, for as long as the refusal lasts. Jobs running go on (and wait to
   * store what they made).
   */
  private async pauseUntilWritesTaken(reason: string): Promise<void> {
    if (this.paused || this.stopping.signal.aborted) return;
    this.paused = true;
    this.options.log.warn(`${reason}: taking no jobs until it takes writes again`);
    try {
      await Promise.all(this.workers.map((worker) => worker.pause(true)));
      await this.writes.untilTaken(this.stopping.signal);
      for (const worker of this.workers) worker.resume();
      this.options.log.info('Redis takes writes again: taking jobs');
    } catch (error) {
      if (!this.stopping.signal.aborted) this.options.log.error({ err: error }, 'job worker error');
    } finally {
      this.paused = false;
    }
  }

  /**
   * Runs `write`, and again whenever Redis refuses it, once Redis takes writes: what a job made is kept
   * until it is stored, not failed (which would spend the job's attempts within seconds, and the work).
   * `signal` (the job's cancellation) ends the wait.
   */
  private async whenWritesTaken<T>(write: () => Promise<T>, signal: AbortSignal, what: string): Promise<T> {
    for (;;) {
      try {
        return await write();
      } catch (error) {
        if (writeRefusal(error) === undefined) throw error;
        await this.untilWritesTaken(signal, what);
      }
    }
  }

  private async untilWritesTaken(signal: AbortSignal, what: string): Promise<void> {
    const refusal = await this.writes.refusal();
    if (refusal === undefined) return;
    this.options.log.warn(`${REFUSAL[refusal]}: ${what} waits until it takes writes again`);
    await this.writes.untilTaken(signal);
    this.options.log.info(`Redis takes writes again: ${what} goes on`);
  }

  private track(connection: Redis): Redis {
    connection.on('error', (error) => this.options.log.warn({ err: error }, 'redis connection error'));
    this.connections.push(connection);
    return connection;
  }

  private async process(job: Job<JobData, JobReturn>, type: string): Promise<JobReturn> {
    const id = job.id as string;
    const controller = new AbortController();
    this.active.set(id, controller);
    try {
      // The cancel message may have gone out before this job was registered: read the flag afresh.
      // (BullMQ keeps a job's data in the hash <prefix>:<queue>:<id>.)
      const fresh = await this.commands.hget(`${this.options.prefix}:${job.queueName}:${id}`, 'data');
      if (job.data.cancelRequested || (fresh !== null && (JSON.parse(fresh) as JobData).cancelRequested)) {
        throw new UnrecoverableError(`${CANCELLED_REASON} before it started`);
      }
      this.options.log.info({ jobId: id, type, attempt: job.attemptsMade + 1 }, 'job started');
      const outcome = await executeJob(
        id,
        { type, params: job.data.params, seed: job.data.seed, models: this.options.models },
        {
          store: {
            put: (jobId, artifacts) =>
              this.whenWritesTaken(
                () => this.store.put(jobId, artifacts),
                controller.signal,
                `job ${id}'s artifacts`,
              ),
          },
          artifactLimit: this.options.jobs.artifactLimit,
          cancelGraceMs: this.options.jobs.cancelGraceMs,
          signal: controller.signal,
          onProgress: (progress) => {
            void job.updateProgress(progress as unknown as object).catch(() => {
              // Progress is best effort; the result is what must not be lost.
            });
          },
          ...(this.options.onTokens === undefined ? {} : { onTokens: this.options.onTokens }),
        },
      );
      if (outcome.kind === 'completed') {
        // BullMQ stores the result once this returns, and fails the job if Redis refuses it.
        await this.untilWritesTaken(controller.signal, `job ${id}'s result`).catch((error: unknown) => {
          throw controller.signal.aborted ? new UnrecoverableError(CANCELLED_REASON) : error;
        });
        return { result: outcome.result, artifacts: outcome.artifacts };
      }
      if (outcome.kind === 'cancelled') throw new UnrecoverableError(CANCELLED_REASON);
      if (outcome.retryable) throw new Error(outcome.message);
      throw new UnrecoverableError(outcome.message);
    } finally {
      this.active.delete(id);
    }
  }
}
