// The collection store on PostgreSQL (DATABASE_URL set): the database holds the collections, and every API
// replica keeps its own in-memory index of each, loaded at start from one consistent snapshot and kept in
// step by following the change log (change-follower.ts). A write is one transaction that takes the next
// sequence number first (so writers take turns and sequence order is commit order), changes the rows,
// logs which point ids it touched, and notifies the listeners; it resolves once this replica has caught up
// to it. Catching up re-reads the current rows of the ids a change names, so replicas converge on the
// database whatever order they see changes in, and the last writer by sequence wins.
//
// PostgreSQL unreachable: at start the store keeps retrying and is not ready (reads and writes 503); later,
// writes fail fast with 503 while searches keep serving the last index, and the follower catches up
// once the database is back.
import pg from 'pg';
import { DEFAULT_STORAGE_TIMEOUT_MS } from '../../../config.js';
import { AppError, ConflictError, NotFoundError, UnavailableError } from '../../../errors.js';
import type { Abortable } from '../../../lib/abortable.js';
import type { Log } from '../../../lib/log.js';
import { SequenceGate } from '../../../lib/sequence-gate.js';
import { Collection, type CollectionConfig, type Point } from '../collection.js';
import type { CollectionStore, DamagedCollection, RecoveryReport } from '../collection-store.js';
import { upsertInTurns } from '../upsert-in-turns.js';
import { CHANGES_CHANNEL, ChangeFollower } from './change-follower.js';
import { migrate } from './migrations.js';
import { type PointRow, vectorOf, writePoints } from './point-rows.js';

/** How long a write waits for this replica's index to reflect it before answering anyway. */
const WRITE_VISIBLE_MS = 5000;
const LOAD_RETRY_MS = 2000;
/** Rows read per query when loading or catching up, and changes read per catch-up query. */
const ROWS_PER_READ = 5000;
const CHANGES_PER_READ = 500;

type ChangeOp = 'create' | 'drop' | 'upsert' | 'delete' | 'job';

interface ChangeRow {
  sequence: string;
  collection: string;
  op: ChangeOp;
  ids: string[];
  job_id: string | null;
}

/** What a write did: the point ids it touched and the index job it applied; undefined to roll back. */
interface WriteEffect {
  ids?: string[];
  jobId?: string;
}

/** Errors of the connection rather than of the statement: the database is away, not the request wrong. */
function unreachable(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  return /^(08|57P0)/.test(error.code ?? '');
}

/**
 * Codes of a server that is there but cannot take the change now: out of connections (for the role, the
 * database or the server) or memory (class 53; a full disk, 53100, answers 507 on its own), a statement
 * or lock timeout, a conflict with another transaction, a read-only standby (a failover under way). The
 * change was rolled back and a retry may succeed: not the client's fault, nor a bug.
 */
const BUSY = /^(53(?!100)\w{3}|40001|40P01|55P03|57014|25006)$/;

function busy(error: unknown): boolean {
  return error instanceof pg.DatabaseError && BUSY.test(error.code ?? '');
}

export class PostgresCollectionStore implements CollectionStore {
  readonly backend = 'postgres';
  loaded = false;
  private readonly pool: pg.Pool;
  private readonly collections = new Map<string, Collection>();
  /** The change that created each collection in memory: a name re-created is a new collection. */
  private readonly incarnations = new WeakMap<Collection, number>();
  private readonly gate = new SequenceGate();
  private readonly follower: ChangeFollower;
  private loadFailure: string | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  /** `storageTimeoutMs`: a query PostgreSQL has not answered in this long fails (a silent server). */
  constructor(
    databaseUrl: string,
    private readonly log: Log,
    storageTimeoutMs = DEFAULT_STORAGE_TIMEOUT_MS,
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      connectionTimeoutMillis: 2000,
      // A server that stops answering (a partition that drops packets, a stopped process) left a write
      // waiting for as long as TCP kept the connection: for hours.
      query_timeout: storageTimeoutMs,
      max: 8,
    });
    // A connection the server (or the network) closed: idle, the pool drops it; checked out, the query on
    // it fails and the write answers 503. Either way the client emits 'error', which must have a listener
    // at every moment of its life, or the process would die of an unhandled 'error' event.
    this.pool.on('error', (error) => log.warn({ err: error }, 'PostgreSQL connection lost'));
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.follower = new ChangeFollower(databaseUrl, () => this.catchUp(), log);
  }

  get sequence(): number {
    return this.gate.current;
  }

  /**
   * Migrates, loads every collection from one snapshot and starts following the change log; rejects when
   * PostgreSQL cannot be reached (see loadInBackground).
   */
  async load(): Promise<void> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await migrate(client, this.log);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ value: string }>('SELECT value FROM collection_sequence');
      const sequence = Number(rows[0]?.value ?? 0);
      const loaded = await this.readCollections(client);
      await client.query('COMMIT');
      for (const [name, collection] of loaded) this.collections.set(name, collection);
      this.gate.advance(sequence);
    } catch (error) {
      failure = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed is closed rather than handed out again.
      client.release(failure);
    }
    this.loaded = true;
    this.loadFailure = undefined;
    this.log.info(
      { collections: this.collections.size, sequence: this.sequence },
      'collections loaded from PostgreSQL',
    );
    this.follower.start();
  }

  /** Loads, retrying every LOAD_RETRY_MS while PostgreSQL cannot be reached; readiness says why meanwhile. */
  loadInBackground(): void {
    this.load().catch((error: Error) => {
      if (this.closed) return;
      if (this.loadFailure === undefined)
        this.log.error({ err: error }, 'cannot load collections from PostgreSQL; retrying');
      this.loadFailure = error.message;
      this.retry = setTimeout(() => this.loadInBackground(), LOAD_RETRY_MS);
      this.retry.unref();
    });
  }

  readiness(): string[] {
    if (this.loaded) return [];
    return [
      this.loadFailure === undefined
        ? 'collections: loading from PostgreSQL'
        : `collections: PostgreSQL unreachable (${this.loadFailure}); retrying`,
    ];
  }

  list(): Collection[] {
    this.checkLoaded();
    return [...this.collections.values()].sort((a, b) => a.config.name.localeCompare(b.config.name));
  }

  /** PostgreSQL keeps its own integrity: nothing here is ever damaged. */
  damagedList(): DamagedCollection[] {
    return [];
  }

  get(name: string): Collection {
    this.checkLoaded();
    const collection = this.collections.get(name);
    if (collection === undefined)
      throw new NotFoundError(`collection '${name}' does not exist; see GET /v1/collections`);
    return collection;
  }

  describe(name: string): Collection {
    return this.get(name);
  }

  async create(config: CollectionConfig): Promise<{ collection: Collection; sequence: number }> {
    this.checkLoaded();
    const sequence = await this.write(config.name, 'create', async (client, next) => {
      const { rowCount } = await client.query(
        `INSERT INTO collections (name, config, created_sequence) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING`,
        [config.name, JSON.stringify(config), next],
      );
      if (rowCount === 0) throw new ConflictError(`collection '${config.name}' already exists`);
      return {};
    });
    // Normally the follower has built it by now; if it could not catch up, the create still happened.
    let collection = this.collections.get(config.name);
    if (collection === undefined) {
      collection = this.instantiate(config, sequence as number);
      this.collections.set(config.name, collection);
    }
    return { collection, sequence: sequence as number };
  }

  /** Asks the database, not this replica's index, which may not have caught up with the collection yet. */
  async drop(name: string): Promise<number> {
    this.checkLoaded();
    const sequence = await this.write(name, 'drop', async (client) => {
      const { rowCount } = await client.query('DELETE FROM collections WHERE name = $1', [name]);
      if (rowCount === 0) throw new NotFoundError(`collection '${name}' does not exist`);
      return {};
    });
    return sequence as number;
  }

  async upsert(collection: Collection, points: Point[]): Promise<number> {
    const name = collection.config.name;
    const sequence = await this.write(name, 'upsert', async (client, next) => {
      await this.checkIncarnation(client, collection);
      return { ids: await writePoints(client, name, points, next) };
    });
    return sequence as number;
  }

  /** Asks the database, not this replica's index, which may not have caught up with the point yet. */
  async deletePoint(name: string, id: string): Promise<number> {
    this.checkLoaded();
    const sequence = await this.write(name, 'delete', async (client) => {
      const exists = await client.query('SELECT 1 FROM collections WHERE name = $1', [name]);
      if (exists.rowCount === 0) throw new NotFoundError(`collection '${name}' does not exist`);
      const { rowCount } = await client.query(
        'DELETE FROM collection_points WHERE collection = $1 AND id = $2',
        [name, id],
      );
      if (rowCount === 0) throw new NotFoundError(`collection '${name}' has no point '${id}'`);
      return { ids: [id] };
    });
    return sequence as number;
  }

  /** The job id and its points in one transaction: a replica that loses the race to apply it changes nothing. */
  applyJob(collection: Collection, jobId: string, points: Point[]): Promise<number | undefined> {
    const name = collection.config.name;
    return this.write(name, 'job', async (client, next) => {
      await this.checkIncarnation(client, collection);
      const { rowCount } = await client.query(
        `INSERT INTO collection_applied_jobs (collection, job_id, sequence) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING`,
        [name, jobId, next],
      );
      if (rowCount === 0) return undefined;
      return { ids: await writePoints(client, name, points, next), jobId };
    });
  }

  async recover(name: string): Promise<RecoveryReport> {
    this.get(name);
    throw new ConflictError(`collection '${name}' is not damaged; there is nothing to recover`);
  }

  reached(sequence: number, timeoutMs: number, signal?: Abortable): Promise<boolean> {
    if (sequence > this.sequence) void this.follower.wake();
    return this.gate.reached(sequence, timeoutMs, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.follower.close();
    await this.pool.end();
  }

  private checkLoaded(): void {
    if (this.loaded) return;
    const [reason] = this.readiness();
    throw new UnavailableError(`${reason}; try again shortly`, 2);
  }

  /** 404 when the collection is gone from the database, 409 when its name now belongs to a newer one. */
  private async checkIncarnation(client: pg.PoolClient, collection: Collection): Promise<void> {
    const { name } = collection.config;
    const { rows } = await client.query<{ created_sequence: string }>(
      'SELECT created_sequence FROM collections WHERE name = $1',
      [name],
    );
    const row = rows[0];
    if (row === undefined) throw new NotFoundError(`collection '${name}' does not exist`);
    if (Number(row.created_sequence) !== this.incarnations.get(collection))
      throw new ConflictError(`collection '${name}' was re-created`);
  }

  /**
   * Runs `change` in a transaction numbered by the next sequence, logs and announces it, and resolves
   * with that sequence once this replica reflects it (undefined when `change` chose to roll back).
   */
  private async write(
    collection: string,
    op: ChangeOp,
    change: (client: pg.PoolClient, sequence: number) => Promise<WriteEffect | undefined>,
  ): Promise<number | undefined> {
    let sequence: number;
    let client: pg.PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      const { rows } = await client.query<{ value: string }>(
        'UPDATE collection_sequence SET value = value + 1 RETURNING value',
      );
      sequence = Number(rows[0]?.value);
      const effect = await change(client, sequence);
      if (effect === undefined) {
        await client.query('ROLLBACK');
        return undefined;
      }
      await client.query(
        'INSERT INTO collection_changes (sequence, collection, op, ids, job_id) VALUES ($1, $2, $3, $4, $5)',
        [sequence, collection, op, effect.ids ?? [], effect.jobId ?? null],
      );
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, String(sequence)]);
      await client.query('COMMIT');
    } catch (error) {
      const lost = !(error instanceof AppError) && unreachable(error);
      // A connection that is gone or silent is closed below, which rolls back; asking it would wait again.
      if (!lost) await client?.query('ROLLBACK').catch(() => undefined);
      if (error instanceof AppError) throw error;
      broken = error as Error;
      if (lost) throw new UnavailableError(`PostgreSQL unreachable: ${(error as Error).message}`, 2);
      if (busy(error)) {
        throw new UnavailableError(`PostgreSQL cannot take the change now: ${(error as Error).message}`, 2);
      }
      throw error;
    } finally {
      // A connection that failed is closed rather than handed out again.
      client?.release(broken);
    }
    if (!(await this.reached(sequence, WRITE_VISIBLE_MS)))
      this.log.warn({ sequence }, 'write committed; this replica has not caught up with it yet');
    return sequence;
  }

  /** Every collection with its points and applied jobs, read inside the caller's snapshot. */
  private async readCollections(client: pg.PoolClient): Promise<Map<string, Collection>> {
    const loaded = new Map<string, Collection>();
    const { rows } = await client.query<{ name: string; config: CollectionConfig; created_sequence: string }>(
      'SELECT name, config, created_sequence FROM collections ORDER BY name',
    );
    for (const row of rows) {
      const collection = this.instantiate(row.config, Number(row.created_sequence));
      await this.readAllPoints(client, collection);
      loaded.set(row.name, collection);
    }
    const jobs = await client.query<{ collection: string; job_id: string }>(
      'SELECT collection, job_id FROM collection_applied_jobs ORDER BY sequence',
    );
    for (const job of jobs.rows) loaded.get(job.collection)?.markApplied(job.job_id);
    return loaded;
  }

  private instantiate(config: CollectionConfig, createdSequence: number): Collection {
    const collection = new Collection(config);
    this.incarnations.set(collection, createdSequence);
    return collection;
  }

  /** Every point of `collection`, in id order a page at a time (keyset pagination inside the caller's snapshot). */
  private async readAllPoints(client: pg.ClientBase, collection: Collection): Promise<void> {
    let after = '';
    for (;;) {
      const { rows } = await client.query<PointRow>(
        `SELECT id, vector, payload FROM collection_points
          WHERE collection = $1 AND id > $2 ORDER BY id LIMIT ${ROWS_PER_READ}`,
        [collection.config.name, after],
      );
      await this.applyRows(collection, rows);
      if (rows.length < ROWS_PER_READ) return;
      after = (rows[rows.length - 1] as PointRow).id;
    }
  }

  /** The current rows of `ids` into `collection`; an id without a row any more is deleted. */
  private async readPointsById(collection: Collection, ids: string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += ROWS_PER_READ) {
      const wanted = ids.slice(start, start + ROWS_PER_READ);
      const { rows } = await this.pool.query<PointRow>(
        'SELECT id, vector, payload FROM collection_points WHERE collection = $1 AND id = ANY($2)',
        [collection.config.name, wanted],
      );
      await this.applyRows(collection, rows);
      const found = new Set(rows.map((row) => row.id));
      for (const id of wanted) if (!found.has(id)) collection.delete(id);
    }
  }

  /** Upserts rows into the index with the event loop free between steps (upsertInTurns). */
  private async applyRows(collection: Collection, rows: PointRow[]): Promise<void> {
    await upsertInTurns(
      () => collection,
      rows.map((row) => ({
        id: row.id,
        vector: vectorOf(row),
        ...(row.payload === null ? {} : { payload: row.payload }),
      })),
    );
  }

  /** One pass of the follower: applies every change logged after this replica's sequence, in order. */
  private async catchUp(): Promise<void> {
    if (!this.loaded) return;
    for (;;) {
      const { rows } = await this.pool.query<ChangeRow>(
        `SELECT sequence, collection, op, ids, job_id FROM collection_changes
          WHERE sequence > $1 ORDER BY sequence LIMIT ${CHANGES_PER_READ}`,
        [this.sequence],
      );
      if (rows.length === 0) return;
      await this.apply(rows);
      this.gate.advance(Number((rows[rows.length - 1] as ChangeRow).sequence));
      if (rows.length < CHANGES_PER_READ) return;
    }
  }

  /**
   * Applies logged changes: creates and drops in order; the point ids of consecutive point changes of a
   * collection are gathered and their current rows read once.
   */
  private async apply(changes: ChangeRow[]): Promise<void> {
    const touched = new Map<string, { ids: Set<string>; jobs: string[] }>();
    const flush = async (name: string) => {
      const pending = touched.get(name);
      touched.delete(name);
      const collection = this.collections.get(name);
      if (pending === undefined || collection === undefined) return;
      await this.readPointsById(collection, [...pending.ids]);
      for (const job of pending.jobs) collection.markApplied(job);
    };
    for (const change of changes) {
      const name = change.collection;
      const sequence = Number(change.sequence);
      if (change.op === 'create' || change.op === 'drop') {
        await flush(name);
        const current = this.collections.get(name);
        if (current !== undefined && (this.incarnations.get(current) ?? 0) < sequence)
          this.collections.delete(name);
        if (change.op === 'create') await this.created(name, sequence);
        continue;
      }
      const pending = touched.get(name) ?? { ids: new Set<string>(), jobs: [] };
      for (const id of change.ids) pending.ids.add(id);
      if (change.job_id !== null) pending.jobs.push(change.job_id);
      touched.set(name, pending);
    }
    for (const name of [...touched.keys()]) await flush(name);
  }

  /** A collection created by change `sequence`, unless it has been deleted (or re-created) since. */
  private async created(name: string, sequence: number): Promise<void> {
    const { rows } = await this.pool.query<{ config: CollectionConfig; created_sequence: string }>(
      'SELECT config, created_sequence FROM collections WHERE name = $1',
      [name],
    );
    const row = rows[0];
    if (row === undefined || Number(row.created_sequence) !== sequence) return;
    const current = this.collections.get(name);
    // Already built: by the create that wrote it, or by a pass that failed after building it.
    if (current !== undefined && this.incarnations.get(current) === sequence) return;
    this.collections.set(name, this.instantiate(row.config, sequence));
  }
}
