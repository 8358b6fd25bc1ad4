// The jobs service behind /v1/jobs. A submission is looked up, validated against its type's schema, checked
// against the served models and collections, fingerprinted for its Idempotency-Key and held to its type's
// queue limit before it is queued in one atomic add. Routes reach it as `fastify.jobs`.
import { createHash } from 'node:crypto';
import { NotFoundError, OverloadedError } from '../errors.js';
import { canonicalJson } from '../lib/canonical-json.js';
import { seedOrRandom } from '../lib/random.js';
import { findJobType, JOB_TYPES } from './catalog.js';
import { type SubmitOutcome, trimParams } from './job-record.js';
import type { CheckContext, JobType } from './job-type.js';
import { validateJobParams } from './params-validation.js';
import type { JobQueue } from './queue.js';

export interface JobSubmission {
  type: string;
  params: unknown;
  /** Generated when absent. */
  seed?: number;
  idempotencyKey?: string;
  /** Aborted when the client left or its deadline passed: then nothing is queued. */
  signal?: AbortSignal;
  /** Who submits (an API key's name), for the rejection count. */
  keyName?: string;
}

export interface JobServiceOptions {
  /** What submit-time checks look up. */
  lookups: CheckContext;
  /** Jobs of one type waiting to start before a submission of that type is refused (503). */
  queueLimit: number;
  /** Called for each submission refused because its type's queue is full. */
  onQueueFull: (keyName: string | undefined) => void;
}

export class JobService {
  /**
   * Submissions of each type this process has counted the queue for and not yet added: counted as waiting,
   * so that a burst arriving together cannot all pass the count before any is added (20 concurrent ones
   * all queued under a limit of 3). Across replicas the limit stays per queue count, not exact.
   */
  private readonly adding = new Map<string, number>();

  constructor(
    private readonly queue: JobQueue,
    private readonly options: JobServiceOptions,
  ) {}

  /** Every job type with the JSON schema of its params. */
  types(): readonly JobType[] {
    return JOB_TYPES;
  }

  /** The job type; 404 when there is none of that name. */
  jobType(type: string): JobType {
    const jobType = findJobType(type);
    if (jobType === undefined)
      throw new NotFoundError(`job type '${type}' does not exist; see GET /v1/job-types`);
    return jobType;
  }

  async submit(submission: JobSubmission): Promise<SubmitOutcome> {
    const { type, params, seed, idempotencyKey } = submission;
    const jobType = this.jobType(type);
    validateJobParams(jobType, params, '/body/params');
    const checked = jobType.check?.(params, this.options.lookups);
    // The fingerprint is of what the client sent, so a retry with the same body matches.
    const fingerprint = createHash('sha256')
      .update(canonicalJson({ type, params, seed: seed ?? null }))
      .digest('hex');
    const ahead = this.adding.get(type) ?? 0;
    this.adding.set(type, ahead + 1);
    let outcome: SubmitOutcome;
    const stored = checked ?? params;
    try {
      // Bounded per type: past the limit a submission is refused, not queued for hours.
      const waiting = (await this.queue.queued(type)) + ahead;
      if (waiting >= this.options.queueLimit) {
        this.options.onQueueFull(submission.keyName);
        throw new OverloadedError(
          `${waiting} ${type} jobs are waiting (limit ${this.options.queueLimit}); retry once some have started`,
          5,
        );
      }
      // A client that left (or a deadline that passed) while the queue was asked would never learn the job's
      // id: queue nothing, so no compute runs for nobody. Past this point the submission is one atomic add.
      submission.signal?.throwIfAborted();
      outcome = await this.queue.submit({
        type,
        params: stored,
        seed: seedOrRandom(seed),
        fingerprint,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
    } finally {
      this.adding.set(type, (this.adding.get(type) ?? 1) - 1);
    }
    // The answer is a record like any other: it does not send large params back to whoever sent them.
    return { ...outcome, job: trimParams(outcome.job, Buffer.byteLength(JSON.stringify(stored))) };
  }
}
