// The one job-queue contract. Two backends honour it and pass the same contract tests:
// `inline` (jobs in child processes of the API, kept in SQLite under DATA_DIR) and `bullmq` (Redis;
// separate workers).

import type { JobState } from '../schemas/jobs.js';
import type { Artifact, JobCount, JobEvent, JobRecord, SubmitOutcome, SubmitRequest } from './job-record.js';

export interface JobListFilter {
  type?: string;
  state?: JobState;
  limit: number;
}

export interface JobQueue {
  readonly backend: 'inline' | 'bullmq';
  /** Enqueues a validated job; an idempotency key that was seen before returns that job (409 on other params). */
  submit(request: SubmitRequest): Promise<SubmitOutcome>;
  /** The job, or undefined when unknown or removed by retention. */
  get(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  list(filter: JobListFilter): Promise<JobRecord[]>;
  /** Cancels a queued or running job; 404 when unknown, 409 when already finished. */
  cancel(id: string): Promise<JobRecord>;
  /** Live events of one job until it finishes; returns the unsubscribe function. */
  subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void>;
  /**
   * A job's params as JSON, which its record leaves out when large. `reserve` hears their size before they
   * are read, and may throw to refuse (the download budget).
   */
  params(id: string, reserve?: (bytes: number) => void): Promise<string | undefined>;
  /**
   * A file the job wrote. `reserve` hears its size before any of it is read, and may throw to refuse it
   * (the download budget).
   */
  artifact(id: string, name: string, reserve?: (bytes: number) => void): Promise<Artifact | undefined>;
  counts(): Promise<JobCount[]>;
  /** Jobs of one type waiting to start (retries waiting out their backoff included); cheap, read per submission. */
  queued(type: string): Promise<number>;
  /** Throws when the backend cannot take work (Redis unreachable). */
  ping(): Promise<void>;
  /** Stops taking jobs and lets running ones finish until the deadline; safe to call twice. */
  close(deadlineMs?: number): Promise<void>;
}
