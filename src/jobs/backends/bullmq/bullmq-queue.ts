// The BullMQ backend, API side: enqueues, reads and cancels jobs in Redis; `npm run worker` processes on any
// machine run them (bullmq-worker.ts). Live events come from polling subscribed jobs (job-watcher.ts).
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobConfig } from '../../../config.js';
import { ConflictError, NotFoundError, StorageFullError, UnavailableError } from '../../../errors.js';
import type { JobState } from '../../../schemas/jobs.js';
import {
  type Artifact,
  FINISHED_STATES,
  type JobCount,
  type JobEvent,
  type JobRecord,
  type SubmitOutcome,
  type SubmitRequest,
  trimParams,
} from '../../job-record.js';
import type { JobListFilter, JobQueue } from '../../queue.js';
import {
  cancelChannel,
  type JobData,
  type JobReturn,
  producerConnection,
  publicState,
  queueName,
  toRecord,
  typeOfJobId,
} from './bullmq-shared.js';
import { JobWatcher } from './job-watcher.js';
import { RedisArtifactStore } from './redis-artifacts.js';
import { REFUSAL, writeRefusal } from './redis-write-refusal.js';
import { readTrimmedJob } from './trimmed-job.js';

type BullState = 'waiting' | 'delayed' | 'prioritized' | 'active' | 'completed' | 'failed';

const BULL_STATES: Record<JobState, BullState[]> = {
  queued: ['waiting', 'delayed', 'prioritized'],
  running: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['failed', 'waiting', 'delayed', 'prioritized'],
};

const ALL_BULL_STATES: BullState[] = ['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'];

/** Longest one step of close() may take before the next runs. */
const CLOSE_STEP_TIMEOUT_MS = 2000;

/** Longest a Redis call on the request path may take before the request gets a 503. */
const REDIS_CALL_TIMEOUT_MS = 2000;

export class BullmqQueue implements JobQueue {
  readonly backend = 'bullmq' as const;
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue<JobData, JobReturn>>();
  private readonly events = new EventEmitter();
  private readonly watcher = new JobWatcher((id) => this.get(id));
  private readonly store: RedisArtifactStore;
  private closing: Promise<void> | undefined;
  private readonly onError: (error: Error) => void;

  /** `types` are the job type names: one BullMQ queue each. */
  constructor(
    url: string,
    private readonly prefix: string,
    private readonly config: JobConfig,
    types: readonly string[],
    onError: (error: Error) => void,
  ) {
    this.onError = onceInAWhile(onError);
    this.connection = producerConnection(url);
    this.connection.on('error', () => {
      // Reported through readiness; ioredis keeps reconnecting.
    });
    this.store = new RedisArtifactStore(this.connection, prefix, config.retentionSeconds);
    this.events.setMaxListeners(0);
    for (const type of types) {
      const queue = new Queue<JobData, JobReturn>(queueName(type), {
        connection: this.connection,
        prefix,
        defaultJobOptions: {
          attempts: config.attempts,
          backoff: { type: 'exponential', delay: config.backoffMs },
          removeOnComplete: { age: config.retentionSeconds, count: config.retentionCount },
          removeOnFail: { age: config.retentionSeconds, count: config.retentionCount },
        },
      });
      queue.on('error', (error) => this.onError(error));
      this.queues.set(type, queue);
    }
  }

  async submit(request: SubmitRequest): Promise<SubmitOutcome> {
    this.assertOpen();
    const queue = this.queueOf(request.type);
    let jobId = `${request.type}_${randomUUID()}`;
    if (request.idempotencyKey !== undefined) {
      const key = `${this.prefix}:idempotency:${createHash('sha256').update(request.idempotencyKey).digest('hex')}`;
      const claimed = await this.redis(() =>
        this.connection.set(
          key,
          JSON.stringify({ jobId, fingerprint: request.fingerprint }),
          'EX',
          this.config.retentionSeconds,
          'NX',
        ),
      );
      if (claimed === null) {
        const stored = JSON.parse((await this.redis(() => this.connection.get(key))) ?? '{}') as {
          jobId?: string;
          fingerprint?: string;
        };
        if (stored.fingerprint !== request.fingerprint) {
          throw new ConflictError('this Idempotency-Key was used for a job with other type, params or seed');
        }
        const existing = stored.jobId === undefined ? undefined : await this.get(stored.jobId);
        if (existing !== undefined) return { job: existing, created: false };
        jobId = stored.jobId ?? jobId;
      }
    }
    const job = await this.redis(() =>
      queue.add(
        request.type,
        // The seed first: a record reads it from the data's first bytes, never the params (trimmed-job.ts).
        { seed: request.seed, fingerprint: request.fingerprint, params: request.params },
        { jobId },
      ),
    );
    return { job: toRecord(job, request.type, 'queued'), created: true };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const located = this.locate(id);
    if (located === undefined) return undefined;
    const { queue, type } = located;
    // State first, then the hash: BullMQ writes a finished job's reason and result together with its state,
    // so this order never shows a finished state without them.
    const bullState = await this.redis(() => queue.getJobState(id));
    const trimmed = await this.redis(() => readTrimmedJob(queue, this.connection, id));
    if (trimmed === undefined) return undefined;
    const state = publicState(bullState, trimmed.job);
    if (state === undefined) return undefined;
    return trimParams(toRecord(trimmed.job, type, state), trimmed.paramsBytes ?? 0);
  }

  async params(id: string, reserve?: (bytes: number) => void): Promise<string | undefined> {
    const located = this.locate(id);
    if (located === undefined) return undefined;
    const key = located.queue.toKey(id);
    // The data holds the params beside a few small fields: its size is theirs, give or take those.
    const bytes = await this.redis(() => this.connection.hstrlen(key, 'data'));
    if (bytes === 0) return undefined;
    reserve?.(bytes);
    const data = await this.redis(() => this.connection.hget(key, 'data'));
    return data === null ? undefined : JSON.stringify((JSON.parse(data) as JobData).params);
  }

  async list(filter: JobListFilter): Promise<JobRecord[]> {
    const types = filter.type === undefined ? [...this.queues.keys()] : [filter.type];
    const states = filter.state === undefined ? ALL_BULL_STATES : BULL_STATES[filter.state];
    const records: JobRecord[] = [];
    for (const type of types) {
      const queue = this.queueOf(type);
      const ids = new Set(await this.redis(() => queue.getRanges(states, 0, filter.limit - 1)));
      // One job at a time, each read as get() reads it: never with large params.
      for (const id of ids) {
        const record = await this.get(id);
        if (record === undefined || (filter.state !== undefined && record.state !== filter.state)) continue;
        records.push(record);
      }
    }
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, filter.limit);
  }

  async cancel(id: string): Promise<JobRecord> {
    const record = await this.get(id);
    if (record === undefined)
      throw new NotFoundError(`job '${id}' does not exist (or was removed by retention)`);
    if (FINISHED_STATES.has(record.state)) throw new ConflictError(`job '${id}' is already ${record.state}`);
    const found = await this.find(id);
    if (found === undefined) throw new NotFoundError(`job '${id}' does not exist`);
    // The flag stops a worker that picks the job up later; the message stops the worker that holds it now.
    await this.redis(() => found.job.updateData({ ...found.job.data, cancelRequested: true }));
    await this.redis(() => this.connection.publish(cancelChannel(this.prefix), id));
    const after = (await this.get(id)) ?? record;
    if (after.state === 'cancelled') {
      this.events.emit(id, { kind: 'finished', job: after } satisfies JobEvent);
    }
    return after;
  }

  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    const unsubscribeWatcher = this.watcher.subscribe(id, listener);
    // cancel() announces a cancellation it completed itself without waiting for the next poll.
    this.events.on(id, listener);
    return () => {
      unsubscribeWatcher();
      this.events.off(id, listener);
    };
  }

  async artifact(id: string, name: string, reserve?: (bytes: number) => void): Promise<Artifact | undefined> {
    const record = await this.get(id);
    if (record === undefined || !record.artifacts.includes(name)) return undefined;
    if (reserve !== undefined) reserve(await this.redis(() => this.store.size(id, name)));
    return this.redis(() => this.store.get(id, name));
  }

  async counts(): Promise<JobCount[]> {
    const counts: JobCount[] = [];
    for (const [type, queue] of this.queues) {
      const raw = await this.redis(() =>
        queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'),
      );
      // Cancelled jobs are failed jobs with the cancelled reason; retention bounds how many there are to read.
      const failed = await this.redis(() => queue.getFailed(0, this.config.retentionCount));
      const cancelled = failed.filter((job) => job && publicState('failed', job) === 'cancelled').length;
      const byState: Record<JobState, number> = {
        queued: (raw.waiting ?? 0) + (raw.delayed ?? 0) + (raw.prioritized ?? 0),
        running: raw.active ?? 0,
        completed: raw.completed ?? 0,
        failed: Math.max(0, (raw.failed ?? 0) - cancelled),
        cancelled,
      };
      for (const [state, count] of Object.entries(byState))
        counts.push({ type, state: state as JobState, count });
    }
    return counts;
  }

  /** The BullMQ queues, one per job type, for the queue dashboard (src/server/plugins/queue-dashboard.ts). */
  bullQueues(): Queue[] {
    return [...this.queues.values()] as Queue[];
  }

  async queued(type: string): Promise<number> {
    this.assertOpen();
    const queue = this.queueOf(type);
    const raw = await this.redis(() => queue.getJobCounts('waiting', 'delayed', 'prioritized'));
    return (raw.waiting ?? 0) + (raw.delayed ?? 0) + (raw.prioritized ?? 0);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.redis(() => this.connection.ping());
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const steps = [
        async () => this.watcher.stop(),
        ...[...this.queues.values()].map((queue) => () => queue.close()),
        async () => {
          this.connection.disconnect();
        },
      ];
      // Every step runs even when one fails (BullMQ's own close() habit), and none may hang on a Redis
      // that is down.
      for (const step of steps) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_STEP_TIMEOUT_MS);
        });
        try {
          await Promise.race([step(), timeout]);
        } catch (error) {
          this.onError(error as Error);
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new UnavailableError('the job queue is closing');
  }

  private queueOf(type: string): Queue<JobData, JobReturn> {
    const queue = this.queues.get(type);
    if (queue === undefined) throw new NotFoundError(`job type '${type}' does not exist`);
    return queue;
  }

  /** The queue a job id belongs to (ids carry their type), or undefined for an id of no known type. */
  private locate(id: string): { queue: Queue<JobData, JobReturn>; type: string } | undefined {
    const type = typeOfJobId(id);
    const queue = type === undefined ? undefined : this.queues.get(type);
    return queue === undefined || type === undefined ? undefined : { queue, type };
  }

  private async find(id: string): Promise<{ job: Job<JobData, JobReturn>; type: string } | undefined> {
    const located = this.locate(id);
    if (located === undefined) return undefined;
    const job = await this.redis(() => located.queue.getJob(id));
    return job === undefined || job === null ? undefined : { job, type: located.type };
  }

  /** A Redis call that fails fast: unreachable Redis or a slow answer is a 503, never a hang. */
  private async redis<T>(call: () => Promise<T>): Promise<T> {
    if (this.connection.status !== 'ready') {
      throw new UnavailableError(`Redis is unreachable (connection ${this.connection.status})`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError(`Redis did not answer within ${REDIS_CALL_TIMEOUT_MS} ms`)),
        REDIS_CALL_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (
        error instanceof UnavailableError ||
        error instanceof ConflictError ||
        error instanceof NotFoundError
      ) {
        throw error;
      }
      const refusal = writeRefusal(error);
      if (refusal === 'full') {
        throw new StorageFullError(
          `the job queue's ${REFUSAL.full}: this change was not stored; retry once finished jobs expire or Redis has more memory`,
        );
      }
      if (refusal !== undefined) {
        throw new UnavailableError(
          `the job queue's ${REFUSAL[refusal]}: this change was not stored; retry later`,
        );
      }
      throw new UnavailableError(`Redis call failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** While Redis is down every connection fails every retry: report each distinct message once a minute. */
function onceInAWhile(report: (error: Error) => void): (error: Error) => void {
  const lastSeen = new Map<string, number>();
  return (error) => {
    const now = Date.now();
    if (now - (lastSeen.get(error.message) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    lastSeen.set(error.message, now);
    report(error);
  };
}
