// Applies finished collections.index jobs to their collections. The job (in a child process or on another
// machine) embeds the images and hands back its points as an artifact; every API process polls the queue
// for completed index jobs and writes their points through its collection store. A job is applied once
// per collection: its id is stored with the points in the same write (with PostgreSQL, the first replica
// to apply it wins and the others' writes change nothing; every replica then follows the change log), and
// a job older than the collection it names (one deleted and re-created since) is skipped.

import type { Log } from '../lib/log.js';
import type { Collection, Point } from '../retrieval/collections/collection.js';
import type { CollectionStore } from '../retrieval/collections/collection-store.js';
import { decodeIndexPoints, INDEX_POINTS_ARTIFACT } from '../retrieval/collections/index-points.js';
import type { JobRecord } from './job-record.js';
import { INDEX_JOB_TYPE } from './params/collections-index.js';
import type { JobQueue } from './queue.js';

const POLL_MS = 250;
/** How often `applied` looks again, and for how long at most. */
const SETTLE_CHECK_MS = 20;
const SETTLE_MAX_MS = 10_000;
/** Completed jobs looked at per poll; the first pass after start looks further back. */
const RECENT = 50;
const AT_START = 1000;

export class IndexJobApplier {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;
  private closed = false;

  constructor(
    private readonly store: CollectionStore,
    private readonly queue: JobQueue,
    private readonly log: Log,
  ) {}

  start(): void {
    this.schedule(0, AT_START);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  /**
   * Resolves once a completed index job's points are in its collection here, or will never be (the
   * collection deleted, or created after the job), or after SETTLE_MAX_MS: a client told the job completed
   * (its event stream's end) can then search what it loaded. The next pass starts at once, not after the
   * poll interval.
   */
  async applied(job: JobRecord): Promise<void> {
    if (job.type !== INDEX_JOB_TYPE || job.state !== 'completed') return;
    const deadline = Date.now() + SETTLE_MAX_MS;
    if (!this.running && !this.closed) {
      clearTimeout(this.timer);
      this.schedule(0, RECENT);
    }
    while (!this.closed && this.awaiting(job) !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CHECK_MS));
    }
  }

  /**
   * The collection `job`'s points are still to be written to, if any: not when the collection was deleted
   * since, already has them, or was created after the job (one deleted and re-created since).
   */
  private awaiting(job: JobRecord): Collection | undefined {
    // collections.index params are a few short fields, always within a record (RECORD_PARAMS_MAX_BYTES).
    const name = (job.params as { collection: string }).collection;
    let collection: Collection;
    try {
      collection = this.store.get(name);
    } catch {
      return undefined; // deleted since
    }
    if (collection.hasApplied(job.id) || job.createdAt < collection.config.created_at) return undefined;
    return collection;
  }

  private schedule(delay: number, limit: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = true;
      this.pass = this.applyCompleted(limit)
        .catch((error: Error) => this.log.warn({ err: error }, 'applying index jobs failed; will retry'))
        .finally(() => {
          this.running = false;
          this.schedule(POLL_MS, RECENT);
        });
    }, delay);
    this.timer.unref();
  }

  private async applyCompleted(limit: number): Promise<void> {
    if (!this.store.loaded) return;
    const jobs = await this.queue.list({ type: INDEX_JOB_TYPE, state: 'completed', limit });
    for (const job of jobs.reverse()) {
      if (this.closed) return;
      await this.apply(job);
    }
  }

  private async apply(job: JobRecord): Promise<void> {
    const collection = this.awaiting(job);
    if (collection === undefined) return;
    const name = collection.config.name;
    const artifact = await this.queue.artifact(job.id, INDEX_POINTS_ARTIFACT);
    if (artifact === undefined) return;
    let points: Point[];
    try {
      const decoded = decodeIndexPoints(artifact.data, `job ${job.id}`);
      if (decoded.dim !== collection.config.dim)
        throw new Error(`dimension ${decoded.dim}, not ${collection.config.dim}`);
      points = decoded.ids.map((id, at) => ({
        id,
        vector: collection.prepareVector(
          decoded.vectors.subarray(at * decoded.dim, (at + 1) * decoded.dim),
          `/points/${at}`,
        ),
        payload: decoded.payloads[at] ?? {},
      }));
    } catch (error) {
      // A damaged or mismatched artifact would fail every poll: it is skipped, once, loudly.
      this.log.error({ jobId: job.id, collection: name, err: error }, 'index job points unusable; skipped');
      await this.store.applyJob(collection, job.id, []);
      return;
    }
    const sequence = await this.store.applyJob(collection, job.id, points);
    if (sequence !== undefined)
      this.log.info(
        { jobId: job.id, collection: name, points: points.length, sequence },
        'index job applied',
      );
  }
}
