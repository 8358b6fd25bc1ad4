// What the BullMQ producer (API) and consumer (worker) agree on: queue names, connections, job data and
// how a BullMQ job reads as a public JobRecord.
import type { Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { JobState } from '../../../schemas/jobs.js';
import type { JobRecord } from '../../job-record.js';

/** One BullMQ queue per job type: per-type concurrency, counts and workers. */
export function queueName(type: string): string {
  return `jobs.${type}`;
}

/** Job ids carry their type, so a lookup knows its queue: `<type>_<uuid>`. */
export function typeOfJobId(id: string): string | undefined {
  const separator = id.lastIndexOf('_');
  return separator > 0 ? id.slice(0, separator) : undefined;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

export interface JobData {
  params: unknown;
  seed: number;
  fingerprint: string;
  /** Set by DELETE /v1/jobs/{id}; a worker that picks the job up, or holds it, stops it. */
  cancelRequested?: boolean;
}

export interface JobReturn {
  result: unknown;
  artifacts: string[];
}

/** The reason a cancelled job is failed with; how a failed job reads as `cancelled`. */
export const CANCELLED_REASON = 'cancelled';

/**
 * A connection for the API side: commands fail at once while Redis is down (no offline queue), so a submit
 * answers 503 instead of hanging; reconnection goes on in the background.
 */
export function producerConnection(url: string): Redis {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  return new Redis(url, options);
}

/**
 * A connection that waits for Redis instead of failing: for workers and event readers, which have no client
 * waiting on them (and BullMQ requires maxRetriesPerRequest null for its blocking commands).
 */
export function patientConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString();
}

export function publicState(bullState: string, job: Job<JobData, JobReturn>): JobState | undefined {
  switch (bullState) {
    case 'waiting':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return job.data.cancelRequested ? 'cancelled' : 'queued';
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
      return job.failedReason?.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed';
    default:
      return undefined;
  }
}

export function toRecord(job: Job<JobData, JobReturn>, type: string, state: JobState): JobRecord {
  const progress =
    typeof job.progress === 'object' && job.progress !== null && 'fraction' in job.progress
      ? (job.progress as unknown as JobRecord['progress'])
      : { fraction: 0 };
  const returned = job.returnvalue as JobReturn | null | undefined;
  const record: JobRecord = {
    id: job.id as string,
    type,
    state,
    seed: job.data.seed,
    params: job.data.params,
    progress: state === 'completed' ? { ...progress, fraction: 1 } : progress,
    attempts: job.attemptsStarted ?? job.attemptsMade,
    createdAt: iso(job.timestamp) ?? new Date(0).toISOString(),
    artifacts: returned?.artifacts ?? [],
  };
  const startedAt = iso(job.processedOn);
  const finishedAt = state === 'cancelled' && job.finishedOn === undefined ? undefined : iso(job.finishedOn);
  if (startedAt !== undefined) record.startedAt = startedAt;
  if (finishedAt !== undefined && (state === 'completed' || state === 'failed' || state === 'cancelled')) {
    record.finishedAt = finishedAt;
  }
  if (state === 'completed') record.result = returned?.result;
  if ((state === 'failed' || state === 'cancelled' || state === 'queued') && job.failedReason) {
    record.error = job.failedReason;
  }
  if (state === 'cancelled' && record.error === undefined) record.error = 'cancelled before it started';
  return record;
}
