// Where the inline queue keeps its jobs: one SQLite database (better-sqlite3) under DATA_DIR, so jobs,
// results, artifact listings and idempotency keys survive a restart. Every change is one transaction,
// committed to disk (WAL, synchronous=FULL) before it is acknowledged. The database is opened in exclusive
// locking mode: a second process on the same DATA_DIR is refused at start instead of running the same jobs.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type JobState, RECORD_PARAMS_MAX_BYTES } from '../../../schemas/jobs.js';
import { FINISHED_STATES, type JobCount, type JobProgress, type JobRecord } from '../../job-record.js';
import type { JobListFilter } from '../../queue.js';

/** A job as stored: its public record plus what only the queue reads. */
export interface StoredJob {
  record: JobRecord;
  fingerprint: string;
  /** A cancel arrived while it ran; a restart must not run it again. */
  cancelRequested: boolean;
  /** Times a restart found it running and queued it again. */
  recoveries: number;
  /** Epoch ms before which a queued retry does not start. */
  runAfter: number;
}

/** An artifact's listing: the file holds the bytes, the digest says whether they are still the ones written. */
export interface ArtifactEntry {
  name: string;
  contentType: string;
  bytes: number;
  sha256: string;
}

/** Each entry upgrades the schema by one version (PRAGMA user_version); never edit a released one. */
export const MIGRATIONS = [
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     state TEXT NOT NULL,
     seed INTEGER NOT NULL,
     params TEXT NOT NULL,
     progress TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     result TEXT,
     error TEXT,
     fingerprint TEXT NOT NULL,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     recoveries INTEGER NOT NULL DEFAULT 0,
     run_after INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX jobs_by_state ON jobs (state, type, created_at);
   CREATE INDEX jobs_by_creation ON jobs (created_at);
   CREATE TABLE idempotency_keys (
     key TEXT PRIMARY KEY,
     job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE
   );
   CREATE INDEX idempotency_keys_by_job ON idempotency_keys (job_id);
   CREATE TABLE artifacts (
     job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     content_type TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     PRIMARY KEY (job_id, name)
   );`,
  // Params in a table of their own: an onnx.batch-infer job may carry 32 MiB of them, and in the jobs row
  // every column after them (state, progress, timestamps) was reached by walking their overflow pages —
  // a list of 25 such jobs took 180 ms with no params read — and every state change rewrote them.
  `CREATE TABLE job_params (
     job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
     params TEXT NOT NULL
   );
   INSERT INTO job_params (job_id, params) SELECT id, params FROM jobs;
   ALTER TABLE jobs DROP COLUMN params;`,
];

/** A job's row with its params, to run it. */
const WITH_PARAMS =
  'SELECT jobs.*, job_params.params FROM jobs JOIN job_params ON job_params.job_id = jobs.id';

/**
 * A job's row as its record shows it: params over RECORD_PARAMS_MAX_BYTES are not read, only their size
 * (octet_length takes it from the record's header, where length() reads them).
 */
const TRIMMED = `SELECT jobs.*,
    CASE WHEN octet_length(job_params.params) <= ${RECORD_PARAMS_MAX_BYTES} THEN job_params.params END AS params,
    octet_length(job_params.params) AS params_bytes
  FROM jobs JOIN job_params ON job_params.job_id = jobs.id`;

interface JobRow {
  id: string;
  type: string;
  state: JobState;
  seed: number;
  /** Null in a record when over RECORD_PARAMS_MAX_BYTES (params_bytes has their size). */
  params: string | null;
  params_bytes?: number;
  progress: string;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result: string | null;
  error: string | null;
  fingerprint: string;
  cancel_requested: number;
  recoveries: number;
  run_after: number;
}

/** The database could not be opened or failed its integrity check. */
export class JobStoreError extends Error {
  override name = 'JobStoreError';
}

export class JobStore {
  private db: Database.Database;
  /** The files the database was opened on, as `dev:ino`: see restoreIfRemoved. */
  private opened: { database: string | undefined; wal: string | undefined };

  constructor(readonly path: string) {
    try {
      this.db = openDatabase(path);
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      this.migrate();
    } catch (error) {
      const busy = /locked|busy/i.test((error as Error).message);
      throw new JobStoreError(
        busy
          ? `${path} is in use by another process; two servers cannot share one DATA_DIR`
          : `${path} cannot be used (${(error as Error).message}); move it aside to start with an empty job queue`,
      );
    }
    this.opened = { database: fileIdentity(path), wal: fileIdentity(`${path}-wal`) };
  }

  /**
   * Writes the database back to its path when its file or its WAL was removed or replaced under the running
   * server (`rm -r DATA_DIR/jobs`, a cleaner of old files, a volume swapped): SQLite goes on with the files
   * it holds open, every job stored is answered, and all of them, those acknowledged after the removal
   * included, were gone at the next start. The copy is the open database whole (VACUUM INTO), flushed, put
   * in place by a rename and opened; a file found in its place is kept beside it. Says what it did, or
   * undefined when the files are the ones opened. Throws the disk's error when it cannot write the copy
   * (the database stays open, and the next call tries again).
   */
  restoreIfRemoved(): string | undefined {
    const wal = `${this.path}-wal`;
    const database = fileIdentity(this.path);
    const walNow = fileIdentity(wal);
    const walLost = this.opened.wal !== undefined && walNow !== this.opened.wal;
    if (database === this.opened.database && !walLost) {
      this.opened.wal ??= walNow;
      return undefined;
    }
    const copy = `${this.path}.restoring`;
    mkdirSync(dirname(this.path), { recursive: true });
    rmSync(copy, { force: true });
    this.db.prepare('VACUUM INTO ?').run(copy);
    fsyncPath(copy);
    const displaced =
      database !== undefined && database !== this.opened.database
        ? `${this.path}.displaced-${Date.now()}`
        : undefined;
    if (displaced !== undefined) renameSync(this.path, displaced);
    this.db.close();
    renameSync(copy, this.path);
    fsyncPath(dirname(this.path));
    this.db = openDatabase(this.path);
    this.opened = { database: fileIdentity(this.path), wal: fileIdentity(wal) };
    const what = database === undefined ? 'removed' : displaced === undefined ? 'WAL removed' : 'replaced';
    return `${this.path} (${what}) was written back from the open database${
      displaced === undefined ? '' : `; the file found in its place is now ${displaced}`
    }`;
  }

  /** Stores a new job and its idempotency key in one transaction; the job already under that key otherwise. */
  insert(job: StoredJob, idempotencyKey: string | undefined): { job: StoredJob; created: boolean } {
    return this.db.transaction(() => {
      if (idempotencyKey !== undefined) {
        const existing = this.db
          .prepare<[string], { job_id: string }>('SELECT job_id FROM idempotency_keys WHERE key = ?')
          .get(idempotencyKey);
        const stored = existing === undefined ? undefined : this.get(existing.job_id);
        if (stored !== undefined) return { job: stored, created: false };
      }
      const { record } = job;
      this.db
        .prepare(
          `INSERT INTO jobs (id, type, state, seed, progress, attempts, created_at, fingerprint)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.id,
          record.type,
          record.state,
          record.seed,
          JSON.stringify(record.progress),
          record.attempts,
          record.createdAt,
          job.fingerprint,
        );
      this.db
        .prepare('INSERT INTO job_params (job_id, params) VALUES (?, ?)')
        .run(record.id, JSON.stringify(record.params));
      if (idempotencyKey !== undefined) {
        this.db
          .prepare('INSERT OR REPLACE INTO idempotency_keys (key, job_id) VALUES (?, ?)')
          .run(idempotencyKey, record.id);
      }
      return { job, created: true };
    })();
  }

  /** The job as its record shows it (params over RECORD_PARAMS_MAX_BYTES left out, see JobRecord.params). */
  get(id: string): StoredJob | undefined {
    const row = this.db.prepare<[string], JobRow>(`${TRIMMED} WHERE jobs.id = ?`).get(id);
    return row === undefined ? undefined : this.toStored(row);
  }

  /** The size of a job's params as JSON, in bytes, without reading them; undefined for no such job. */
  paramsBytes(id: string): number | undefined {
    return this.db
      .prepare<[string], { bytes: number }>(
        'SELECT octet_length(params) AS bytes FROM job_params WHERE job_id = ?',
      )
      .get(id)?.bytes;
  }

  /** A job's params as stored: JSON. */
  paramsJson(id: string): string | undefined {
    return this.db
      .prepare<[string], { params: string }>('SELECT params FROM job_params WHERE job_id = ?')
      .get(id)?.params;
  }

  /** Newest first, as get() shows each. */
  list(filter: JobListFilter): JobRecord[] {
    const rows = this.db
      .prepare<[string | null, string | null, string | null, string | null, number], JobRow>(
        `${TRIMMED} WHERE (? IS NULL OR type = ?) AND (? IS NULL OR state = ?)
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(
        filter.type ?? null,
        filter.type ?? null,
        filter.state ?? null,
        filter.state ?? null,
        filter.limit,
      );
    return rows.map((row) => this.toStored(row).record);
  }

  /** Up to `limit` queued jobs of a type that may start at `now` (epoch ms), oldest first. */
  runnable(type: string, now: number, limit: number): StoredJob[] {
    return this.db
      .prepare<[string, number, number], JobRow>(
        `${WITH_PARAMS} WHERE state = 'queued' AND type = ? AND run_after <= ?
         ORDER BY created_at, id LIMIT ?`,
      )
      .all(type, now, limit)
      .map((row) => this.toStored(row));
  }

  /** The earliest time after `now` (epoch ms) at which a queued retry may start, if one waits. */
  nextRetryAfter(now: number): number | undefined {
    const row = this.db
      .prepare<[number], { at: number | null }>(
        "SELECT min(run_after) AS at FROM jobs WHERE state = 'queued' AND run_after > ?",
      )
      .get(now);
    return row?.at ?? undefined;
  }

  countQueued(type: string): number {
    return (
      this.db
        .prepare<[string], { count: number }>(
          "SELECT count(*) AS count FROM jobs WHERE state = 'queued' AND type = ?",
        )
        .get(type)?.count ?? 0
    );
  }

  counts(): JobCount[] {
    return this.db
      .prepare<[], JobCount>('SELECT type, state, count(*) AS count FROM jobs GROUP BY type, state')
      .all();
  }

  /** A try begins: running, one more attempt, the first start time kept. */
  start(id: string, startedAt: string): void {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = coalesce(started_at, ?)
         WHERE id = ?`,
      )
      .run(startedAt, id);
  }

  /** A failed try that will be tried again at `runAfter` (epoch ms). */
  retryLater(id: string, error: string, runAfter: number): void {
    this.db
      .prepare("UPDATE jobs SET state = 'queued', error = ?, run_after = ? WHERE id = ?")
      .run(error, runAfter, id);
  }

  requestCancel(id: string): void {
    this.db.prepare('UPDATE jobs SET cancel_requested = 1 WHERE id = ?').run(id);
  }

  /** Ends a job in one transaction with its fields and artifact listing. */
  finish(
    id: string,
    state: JobState,
    fields: { progress: JobProgress; result?: unknown; error?: string; finishedAt: string },
    artifacts: ArtifactEntry[] = [],
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE jobs SET state = ?, progress = ?, result = ?, error = ?, finished_at = ? WHERE id = ?',
        )
        .run(
          state,
          JSON.stringify(fields.progress),
          fields.result === undefined ? null : JSON.stringify(fields.result),
          fields.error ?? null,
          fields.finishedAt,
          id,
        );
      const insert = this.db.prepare(
        'INSERT OR REPLACE INTO artifacts (job_id, name, content_type, bytes, sha256) VALUES (?, ?, ?, ?, ?)',
      );
      for (const artifact of artifacts) {
        insert.run(id, artifact.name, artifact.contentType, artifact.bytes, artifact.sha256);
      }
    })();
  }

  /**
   * After a restart: every job the last process was running is queued again (at least once, as BullMQ's
   * stalled-job check does), unless a cancel had arrived for it, or it was already recovered once — a job
   * that stops its server twice is failed rather than tried a third time.
   */
  recoverInterrupted(finishedAt: string): { requeued: string[]; cancelled: string[]; failed: string[] } {
    return this.db.transaction(() => {
      const running = this.db.prepare<[], JobRow>(`${WITH_PARAMS} WHERE state = 'running'`).all();
      const outcome = { requeued: [] as string[], cancelled: [] as string[], failed: [] as string[] };
      for (const row of running) {
        if (row.cancel_requested === 1) {
          this.finishRow(row.id, 'cancelled', 'cancelled (the server stopped while it ran)', finishedAt);
          outcome.cancelled.push(row.id);
        } else if (row.recoveries >= 1) {
          this.finishRow(
            row.id,
            'failed',
            'the server stopped twice while this job ran; not tried again',
            finishedAt,
          );
          outcome.failed.push(row.id);
        } else {
          this.db
            .prepare(
              "UPDATE jobs SET state = 'queued', recoveries = recoveries + 1, run_after = 0 WHERE id = ?",
            )
            .run(row.id);
          outcome.requeued.push(row.id);
        }
      }
      return outcome;
    })();
  }

  artifact(id: string, name: string): ArtifactEntry | undefined {
    return this.db
      .prepare<[string, string], ArtifactEntry>(
        `SELECT name, content_type AS contentType, bytes, sha256 FROM artifacts WHERE job_id = ? AND name = ?`,
      )
      .get(id, name);
  }

  /** Ids of every job that has artifacts listed (their directories are kept; others are swept at start). */
  jobsWithArtifacts(): Set<string> {
    return new Set(
      this.db
        .prepare<[], { job_id: string }>('SELECT DISTINCT job_id FROM artifacts')
        .all()
        .map((row) => row.job_id),
    );
  }

  /**
   * Retention: removes finished jobs beyond `count` per type and final state, or finished before `cutoff`
   * (ISO time), with their keys and artifact listings; returns their ids.
   */
  prune(count: number, cutoff: string): string[] {
    return this.db
      .prepare<[number, string], { id: string }>(
        `DELETE FROM jobs WHERE id IN (
           SELECT id FROM (
             SELECT id, finished_at,
                    row_number() OVER (PARTITION BY type, state ORDER BY finished_at DESC, id DESC) AS rank
             FROM jobs WHERE state IN ('completed', 'failed', 'cancelled'))
           WHERE rank > ? OR finished_at < ?)
         RETURNING id`,
      )
      .all(count, cutoff)
      .map((row) => row.id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private finishRow(id: string, state: JobState, error: string, finishedAt: string): void {
    this.db
      .prepare('UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(state, error, finishedAt, id);
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let next = version; next < MIGRATIONS.length; next++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[next] as string);
        this.db.pragma(`user_version = ${next + 1}`);
      })();
    }
  }

  private toStored(row: JobRow): StoredJob {
    const artifacts = FINISHED_STATES.has(row.state)
      ? this.db
          .prepare<[string], { name: string }>('SELECT name FROM artifacts WHERE job_id = ? ORDER BY rowid')
          .all(row.id)
          .map((artifact) => artifact.name)
      : [];
    const record: JobRecord = {
      id: row.id,
      type: row.type,
      state: row.state,
      seed: row.seed,
      ...(row.params === null ? { paramsBytes: row.params_bytes } : { params: JSON.parse(row.params) }),
      progress: JSON.parse(row.progress),
      attempts: row.attempts,
      createdAt: row.created_at,
      ...(row.started_at === null ? {} : { startedAt: row.started_at }),
      ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
      ...(row.result === null ? {} : { result: JSON.parse(row.result) }),
      ...(row.error === null ? {} : { error: row.error }),
      artifacts,
    };
    return {
      record,
      fingerprint: row.fingerprint,
      cancelRequested: row.cancel_requested === 1,
      recoveries: row.recoveries,
      runAfter: row.run_after,
    };
  }
}

/**
 * Only this process uses the file (exclusive locking): a lock held means another process has it, which no
 * waiting mends; a second is enough for one that is exiting to let go.
 */
function openDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: 1000 });
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}

/** `dev:ino` of the file at `path`, undefined when there is none. */
function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}`;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
