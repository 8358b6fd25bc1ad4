// The public shape of a job, shared by both queue backends and the routes.

import { type JobState, RECORD_PARAMS_MAX_BYTES } from '../schemas/jobs.js';

export const FINISHED_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export interface JobProgress {
  /** Fraction of the work done, 0 … 1. */
  fraction: number;
  message?: string;
  /** Numbers a solver reports along the way (residuals, errors), by name. */
  metrics?: Record<string, number>;
}

export interface JobRecord {
  id: string;
  type: string;
  state: JobState;
  seed: number;
  /** Absent when over RECORD_PARAMS_MAX_BYTES (schemas/jobs.ts); paramsBytes then says their size. */
  params?: unknown;
  paramsBytes?: number;
  progress: JobProgress;
  /** Tries started so far (a retried or recovered job counts each). */
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  result?: unknown;
  error?: string;
  artifacts: string[];
}

/** The record as clients see it: params over RECORD_PARAMS_MAX_BYTES left out, their size in their place. */
export function trimParams(record: JobRecord, paramsBytes: number): JobRecord {
  if (paramsBytes <= RECORD_PARAMS_MAX_BYTES) return record;
  const { params: _params, ...rest } = record;
  return { ...rest, paramsBytes };
}

export interface SubmitRequest {
  type: string;
  params: unknown;
  seed: number;
  /** Fingerprint of (type, params, requested seed) kept with an idempotency key. */
  fingerprint: string;
  idempotencyKey?: string;
}

export interface SubmitOutcome {
  job: JobRecord;
  /** False when an Idempotency-Key matched an existing job. */
  created: boolean;
}

export type JobEvent =
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'state'; state: JobState }
  | { kind: 'finished'; job: JobRecord };

export interface Artifact {
  name: string;
  contentType: string;
  data: Uint8Array;
}

export interface JobCount {
  type: string;
  state: JobState;
  count: number;
}
