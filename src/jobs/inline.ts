// The inline backend: jobs live in this process's memory and run in worker threads of this process, so
// `npm start` alone serves every route. State is lost on restart (documented in docs/operations.md).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobConfig, ModelAccess } from '../server/config.js';
import { ConflictError, NotFoundError, UnavailableError } from '../server/errors.js';
import { FileArtifactStore } from './artifacts.js';
import { JOB_TYPES } from './catalog.js';
import { executeJob } from './execute.js';
import type { JobListFilter, JobQueue } from './queue.js';
import {
  type Artifact,
  FINISHED_STATES,
  JOB_STATES,
  type JobCount,
  type JobEvent,
  type JobRecord,
  type JobState,
  type SubmitOutcome,
  type SubmitRequest,
} from './types.js';

interface InlineJob {
  record: JobRecord;
  fingerprint: string;
  controller: AbortController;
  retryTimer?: NodeJS.Timeout;
}

export class InlineQueue implements JobQueue {
  readonly backend = 'inline' as const;
  private readonly jobs = new Map<string, InlineJob>();
  private readonly byIdempotencyKey = new Map<string, string>();
  private readonly waiting: InlineJob[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly events = new EventEmitter();
  private readonly store: FileArtifactStore;
  private readonly artifactsDir: string;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: JobConfig,
    dataDir: string,
    private readonly models: ModelAccess,
  ) {
    // One directory per queue instance: a restart starts from nothing, and two apps never share files.
    this.artifactsDir = join(dataDir, 'artifacts', `inline-${process.pid}-${randomUUID()}`);
    this.store = new FileArtifactStore(this.artifactsDir);
    this.events.setMaxListeners(0);
  }

  async submit(request: SubmitRequest): Promise<SubmitOutcome> {
    if (this.closing !== undefined) throw new UnavailableError('the server is shutting down');
    if (request.idempotencyKey !== undefined) {
      const existingId = this.byIdempotencyKey.get(request.idempotencyKey);
      const existing = existingId === undefined ? undefined : this.jobs.get(existingId);
      if (existing !== undefined) {
        if (existing.fingerprint !== request.fingerprint) {
          throw new ConflictError('this Idempotency-Key was used for a job with other type, params or seed');
        }
        return { job: structuredClone(existing.record), created: false };
      }
    }
    const job: InlineJob = {
      record: {
        id: `${request.type}_${randomUUID()}`,
        type: request.type,
        state: 'queued',
        seed: request.seed,
        params: request.params,
        progress: { fraction: 0 },
        attempts: 0,
        createdAt: new Date().toISOString(),
        artifacts: [],
      },
      fingerprint: request.fingerprint,
      controller: new AbortController(),
    };
    this.jobs.set(job.record.id, job);
    if (request.idempotencyKey !== undefined)
      this.byIdempotencyKey.set(request.idempotencyKey, job.record.id);
    this.waiting.push(job);
    // A copy: the stored record changes as the job runs, the caller's answer must not.
    const snapshot = structuredClone(job.record);
    setImmediate(() => this.pump());
    return { job: snapshot, created: true };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    return job === undefined ? undefined : structuredClone(job.record);
  }

  async list(filter: JobListFilter): Promise<JobRecord[]> {
    return [...this.jobs.values()]
      .map((job) => structuredClone(job.record))
      .filter(
        (record) =>
          (filter.type === undefined || record.type === filter.type) &&
          (filter.state === undefined || record.state === filter.state),
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, filter.limit);
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = this.jobs.get(id);
    if (job === undefined)
      throw new NotFoundError(`job '${id}' does not exist (or was removed by retention)`);
    if (FINISHED_STATES.has(job.record.state)) {
      throw new ConflictError(`job '${id}' is already ${job.record.state}`);
    }
    job.controller.abort();
    if (job.record.state === 'queued') {
      clearTimeout(job.retryTimer);
      const index = this.waiting.indexOf(job);
      if (index >= 0) this.waiting.splice(index, 1);
      this.finish(job, 'cancelled', { error: 'cancelled before it started' });
    }
    // A running job becomes `cancelled` when its processor stops at its next step.
    return structuredClone(job.record);
  }

  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  async artifact(id: string, name: string): Promise<Artifact | undefined> {
    const job = this.jobs.get(id);
    if (job === undefined || !job.record.artifacts.includes(name)) return undefined;
    return this.store.get(id, name);
  }

  async counts(): Promise<JobCount[]> {
    const counts: JobCount[] = [];
    for (const { type } of JOB_TYPES) {
      for (const state of JOB_STATES) {
        let count = 0;
        for (const job of this.jobs.values())
          if (job.record.type === type && job.record.state === state) count++;
        counts.push({ type, state, count });
      }
    }
    return counts;
  }

  async queued(type: string): Promise<number> {
    let count = 0;
    for (const job of this.jobs.values())
      if (job.record.type === type && job.record.state === 'queued') count++;
    return count;
  }

  async ping(): Promise<void> {
    if (this.closing !== undefined) throw new UnavailableError('the job queue is closing');
  }

  /** Lets running jobs finish until the deadline, then cancels them; queued jobs are dropped. */
  close(deadlineMs = 30_000): Promise<void> {
    this.closing ??= (async () => {
      for (const job of this.waiting.splice(0))
        this.finish(job, 'cancelled', { error: 'the server shut down' });
      // Jobs waiting out a retry backoff are in neither list: stop their timers too.
      for (const job of this.jobs.values()) {
        if (job.retryTimer !== undefined && job.record.state === 'queued') {
          clearTimeout(job.retryTimer);
          this.finish(job, 'cancelled', { error: 'the server shut down' });
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const job of this.jobs.values()) job.controller.abort();
          resolve();
        }, deadlineMs);
      });
      await Promise.race([Promise.allSettled(this.running.values()), deadline]);
      // Cancelled processors stop at their next step; give them that step.
      await Promise.allSettled(this.running.values());
      clearTimeout(timer);
      await rm(this.artifactsDir, { recursive: true, force: true });
    })();
    return this.closing;
  }

  private pump(): void {
    if (this.closing !== undefined) return;
    for (let index = 0; index < this.waiting.length; ) {
      const job = this.waiting[index] as InlineJob;
      const runningOfType = [...this.running.keys()].filter(
        (id) => this.jobs.get(id)?.record.type === job.record.type,
      );
      if (runningOfType.length >= this.config.concurrency) {
        index++;
        continue;
      }
      this.waiting.splice(index, 1);
      const run = this.runOnce(job).finally(() => {
        this.running.delete(job.record.id);
        this.pump();
      });
      this.running.set(job.record.id, run);
    }
  }

  private async runOnce(job: InlineJob): Promise<void> {
    const record = job.record;
    record.attempts++;
    record.startedAt ??= new Date().toISOString();
    this.setState(job, 'running');
    const outcome = await executeJob(
      record.id,
      { type: record.type, params: record.params, seed: record.seed, models: this.models },
      {
        store: this.store,
        artifactLimit: this.config.artifactLimit,
        signal: job.controller.signal,
        onProgress: (progress) => {
          record.progress = progress;
          this.events.emit(record.id, { kind: 'progress', progress } satisfies JobEvent);
        },
      },
    );
    if (outcome.kind === 'completed') {
      record.progress = { ...record.progress, fraction: 1 };
      this.finish(job, 'completed', { result: outcome.result, artifacts: outcome.artifacts });
    } else if (outcome.kind === 'cancelled') {
      this.finish(job, 'cancelled', { error: outcome.message });
    } else if (outcome.retryable && record.attempts < this.config.attempts && this.closing === undefined) {
      // Exponential backoff, as BullMQ's: delay · 2^(tries − 1).
      this.setState(job, 'queued');
      record.error = outcome.message;
      job.retryTimer = setTimeout(
        () => {
          this.waiting.push(job);
          this.pump();
        },
        this.config.backoffMs * 2 ** (record.attempts - 1),
      );
    } else {
      this.finish(job, 'failed', { error: outcome.message });
    }
  }

  private setState(job: InlineJob, state: JobState): void {
    job.record.state = state;
    this.events.emit(job.record.id, { kind: 'state', state } satisfies JobEvent);
  }

  private finish(job: InlineJob, state: JobState, fields: Partial<JobRecord>): void {
    Object.assign(job.record, fields, { state, finishedAt: new Date().toISOString() });
    this.events.emit(job.record.id, {
      kind: 'finished',
      job: structuredClone(job.record),
    } satisfies JobEvent);
    this.events.removeAllListeners(job.record.id);
    this.prune();
  }

  /** Retention: finished jobs older than the age limit, or beyond the count per type and state, are removed. */
  private prune(): void {
    const cutoff = Date.now() - this.config.retentionSeconds * 1000;
    const kept = new Map<string, number>();
    const finished = [...this.jobs.values()]
      .filter((job) => FINISHED_STATES.has(job.record.state))
      .sort((a, b) => (b.record.finishedAt ?? '').localeCompare(a.record.finishedAt ?? ''));
    for (const job of finished) {
      const group = `${job.record.type}/${job.record.state}`;
      const rank = (kept.get(group) ?? 0) + 1;
      kept.set(group, rank);
      if (rank > this.config.retentionCount || Date.parse(job.record.finishedAt ?? '') < cutoff) {
        this.jobs.delete(job.record.id);
        for (const [key, id] of this.byIdempotencyKey)
          if (id === job.record.id) this.byIdempotencyKey.delete(key);
        void this.store.remove(job.record.id);
      }
    }
  }
}
