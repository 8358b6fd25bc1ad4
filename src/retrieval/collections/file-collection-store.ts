// The embedded collection store (the default): every collection of this process, persisted under
// DATA_DIR/collections/ (one file each, see collection-file.ts) and reloaded on start. Changes are made in
// memory and acknowledged once written, and undone when the disk refuses the write; saves of one
// collection are serialised and coalesced (edits that arrive while a save runs share the next one). Each
// file records the change sequence it reflects, and a small SEQUENCE file keeps the sequence of the last
// deletion, so the sequence never goes back on restart. A disk that does not answer a write within
// STORAGE_TIMEOUT_MS makes the request a 503 (it hung until the disk came back); the write goes on, and
// what it does then (its edits kept, or undone when refused) is decided when it ends, as for any other.
// A file that fails its checksums is a damaged collection: reported (readiness, describe), never served,
// never overwritten by a create, and recovered on request from the points that pass their checksums, the
// damaged file kept aside. Temporary files a crash left behind are removed at start.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_STORAGE_TIMEOUT_MS } from '../../config.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../errors.js';
import type { Abortable } from '../../lib/abortable.js';
import { TEMPORARY_MARK, writeFileAtomically } from '../../lib/atomic-file.js';
import { DamagedFileError } from '../../lib/framed-binary.js';
import type { Log } from '../../lib/log.js';
import { SequenceGate } from '../../lib/sequence-gate.js';
import { writtenWithin } from '../../lib/settle-within.js';
import { Collection, type CollectionConfig, type Point } from './collection.js';
import {
  COLLECTION_FILE_SUFFIX,
  encodeCollection,
  readCollectionFile,
  type SalvagedCollection,
  salvageCollection,
} from './collection-file.js';
import {
  type CollectionStore,
  type DamagedCollection,
  DamagedCollectionError,
  type RecoveryReport,
} from './collection-store.js';
import { upsertInTurns } from './upsert-in-turns.js';

const SEQUENCE_FILE = 'SEQUENCE';
/** Times points go in a few at a time while saves are refused meanwhile, before they go in at once. */
const PUT_PASSES = 3;

export class FileCollectionStore implements CollectionStore {
  readonly backend = 'file';
  loaded = false;
  private readonly collections = new Map<string, Collection>();
  private readonly damaged = new Map<string, DamagedCollection>();
  /** Names whose create is writing its first file. */
  private readonly creating = new Set<string>();
  private readonly gate = new SequenceGate();
  /** The save that has not started yet, per collection: new edits join it. */
  private readonly queuedSaves = new Map<string, Promise<void>>();
  /**
   * The newest operation on each collection name's file, started or not: saves, a drop's removal, a
   * create's first write. Each waits for the one before, so they reach the disk in the order they came.
   */
  private readonly fileWork = new Map<string, Promise<void>>();
  /** Saves refused before they ran: their edits were rolled back with those of a save the disk refused. */
  private readonly refusedSaves = new WeakMap<Promise<void>, Error>();
  readonly directory: string;

  constructor(
    dataDir: string,
    private readonly log: Log,
    private readonly storageTimeoutMs = DEFAULT_STORAGE_TIMEOUT_MS,
  ) {
    this.directory = join(dataDir, 'collections');
  }

  get sequence(): number {
    return this.gate.current;
  }

  /** Removes stale temporary files, then loads every collection file; one that fails its checks is damaged. */
  async load(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const files = (await readdir(this.directory)).sort();
    const stale = files.filter((file) => file.includes(TEMPORARY_MARK));
    await Promise.all(stale.map((file) => rm(join(this.directory, file), { force: true })));
    if (stale.length > 0)
      this.log.warn({ files: stale.length }, 'removed temporary files a crash left behind');
    this.gate.advance(await this.readSequenceFile());
    for (const file of files) {
      if (!file.endsWith(COLLECTION_FILE_SUFFIX)) continue;
      const name = file.slice(0, -COLLECTION_FILE_SUFFIX.length);
      try {
        const saved = await readCollectionFile(join(this.directory, file));
        const collection = new Collection({ ...saved.snapshot.config, name }, saved);
        collection.trackSaves();
        this.collections.set(name, collection);
        this.gate.advance(saved.snapshot.sequence ?? 0);
        if (saved.unchecked) {
          await this.save(collection);
          this.log.warn({ collection: name }, 'collection file had no checksums; rewritten with them');
        }
      } catch (error) {
        const damage = error instanceof DamagedFileError ? error.damage.join('; ') : (error as Error).message;
        this.damaged.set(name, { name, damage, detectedAt: new Date().toISOString() });
        this.log.error({ collection: name, file, damage }, 'collection file is damaged; not served');
      }
    }
    this.loaded = true;
    this.log.info(
      { collections: this.collections.size, damaged: this.damaged.size, sequence: this.sequence },
      'collections loaded',
    );
  }

  list(): Collection[] {
    return [...this.collections.values()].sort((a, b) => a.config.name.localeCompare(b.config.name));
  }

  damagedList(): DamagedCollection[] {
    return [...this.damaged.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reasons for readiness: one per damaged collection. */
  readiness(): string[] {
    return this.damagedList().map(({ name, damage }) => `collection ${name}: damaged: ${damage}`);
  }

  get(name: string): Collection {
    const collection = this.collections.get(name);
    if (collection !== undefined) return collection;
    const damaged = this.damaged.get(name);
    if (damaged !== undefined) throw new DamagedCollectionError(damaged);
    throw new NotFoundError(`collection '${name}' does not exist; see GET /v1/collections`);
  }

  /** The collection, or what is known of it when it is damaged; 404 when there is neither. */
  describe(name: string): Collection | DamagedCollection {
    const found = this.collections.get(name) ?? this.damaged.get(name);
    if (found === undefined)
      throw new NotFoundError(`collection '${name}' does not exist; see GET /v1/collections`);
    return found;
  }

  /**
   * The file is written before the collection is served: a create the disk refuses leaves nothing behind,
   * so its retry can succeed (registered first, it answered 409 to the retry, and edits could reach a
   * collection that was never saved).
   */
  async create(config: CollectionConfig): Promise<{ collection: Collection; sequence: number }> {
    const { name } = config;
    if (this.collections.has(name) || this.creating.has(name))
      throw new ConflictError(`collection '${name}' already exists`);
    const damaged = this.damaged.get(name);
    if (damaged !== undefined) throw new DamagedCollectionError(damaged);
    const collection = new Collection(config);
    collection.trackSaves();
    this.creating.add(name);
    // After the removal of a dropped collection of the same name, which would take this file with it.
    const created = this.afterFileWork(name, () => this.write(collection, this.sequence + 1))
      .then(() => {
        this.collections.set(name, collection);
        return this.next();
      })
      .finally(() => this.creating.delete(name));
    return { collection, sequence: await this.answered(created) };
  }

  /** Deletes a collection; the file of a damaged one is kept aside, not removed. */
  async drop(name: string): Promise<number> {
    if (this.damaged.has(name)) {
      const keptAside = await this.keepAside(name);
      this.damaged.delete(name);
      this.log.warn({ collection: name, keptAside }, 'damaged collection deleted; its file kept aside');
      return this.sequence;
    }
    const collection = this.get(name);
    this.collections.delete(name);
    const sequence = this.next();
    const removed = this.afterFileWork(name, async () => {
      await writeFileAtomically(join(this.directory, SEQUENCE_FILE), Buffer.from(`${sequence}\n`));
      await rm(this.path(name), { force: true });
    }).catch((error: Error) => {
      // The disk refused: the file is still there, and so is the collection (unless one is being created
      // in its place, whose write comes next).
      if (!this.collections.has(name) && !this.creating.has(name)) this.collections.set(name, collection);
      throw error;
    });
    await this.answered(removed);
    return sequence;
  }

  async upsert(collection: Collection, points: Point[]): Promise<number> {
    await this.putPoints(collection, points);
    return this.saved(collection);
  }

  async deletePoint(name: string, id: string): Promise<number> {
    const collection = this.get(name);
    collection.get(id); // 404 before anything changes
    collection.delete(id);
    return this.saved(collection);
  }

  /** The job's points, then its id, saved together. */
  async applyJob(collection: Collection, jobId: string, points: Point[]): Promise<number | undefined> {
    if (collection.hasApplied(jobId)) return undefined;
    await this.putPoints(collection, points);
    this.current(collection).markApplied(jobId);
    return this.saved(collection);
  }

  /**
   * Upserts `points` with the event loop free between steps (upsertInTurns). A save refused meanwhile undoes
   * the steps before it (rollback), and the points go in again (upserts by id: the same points); after
   * PUT_PASSES such passes they go in at once, in one turn, so that the save that follows carries all of
   * them or, refused, undoes all of them.
   */
  private async putPoints(collection: Collection, points: Point[]): Promise<void> {
    for (let pass = 1; pass <= PUT_PASSES; pass++) {
      const rollbacks = collection.rollbacks;
      await upsertInTurns(() => this.current(collection), points);
      if (collection.rollbacks === rollbacks) return;
    }
    this.current(collection).upsert(points);
  }

  /**
   * Rebuilds a damaged collection from the points of its file that pass their checksums (the index is
   * built anew), moves the damaged file aside and writes the recovered one. 409 when it is not damaged.
   */
  async recover(name: string): Promise<RecoveryReport> {
    const damaged = this.damaged.get(name);
    if (damaged === undefined) {
      this.get(name);
      throw new ConflictError(`collection '${name}' is not damaged; there is nothing to recover`);
    }
    let salvaged: SalvagedCollection;
    try {
      salvaged = salvageCollection(await readFile(this.path(name)), this.path(name));
    } catch (error) {
      const reason = error instanceof DamagedFileError ? error.damage.join('; ') : (error as Error).message;
      throw new UnprocessableError(`collection '${name}' cannot be recovered: ${reason}`);
    }
    const { lost } = salvaged;
    const collection = new Collection({ ...salvaged.collection.snapshot.config, name }, salvaged.collection);
    collection.trackSaves();
    const keptAside = await this.keepAside(name);
    try {
      await this.afterFileWork(name, () => this.write(collection, this.sequence + 1));
    } catch (error) {
      // The disk refused the recovered file: the damaged one goes back, and the collection stays damaged
      // (it was served from memory with no file behind it, and gone after a restart).
      await rename(join(this.directory, keptAside), this.path(name)).catch(() => undefined);
      throw error;
    }
    this.damaged.delete(name);
    this.collections.set(name, collection);
    const sequence = this.next();
    this.log.warn({ collection: name, recovered: collection.count, lost, keptAside }, 'collection recovered');
    return { collection, recovered: collection.count, lost, keptAside, sequence };
  }

  reached(sequence: number, timeoutMs: number, signal?: Abortable): Promise<boolean> {
    return this.gate.reached(sequence, timeoutMs, signal);
  }

  /** Waits for every file operation in flight (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.fileWork.values()]);
  }

  /** `collection`, when it is still the one of its name; 404 or 409 otherwise. */
  private current(collection: Collection): Collection {
    const name = collection.config.name;
    if (this.get(name) !== collection) throw new ConflictError(`collection '${name}' was re-created`);
    return collection;
  }

  private next(): number {
    const sequence = this.sequence + 1;
    this.gate.advance(sequence);
    return sequence;
  }

  /** Numbers the change just made to `collection` and resolves with that number once it is on disk. */
  private async saved(collection: Collection): Promise<number> {
    const sequence = this.next();
    await this.answered(this.save(collection));
    return sequence;
  }

  /** `work`, or a 503 once the disk has not answered for STORAGE_TIMEOUT_MS; the work goes on either way. */
  private answered<T>(work: Promise<T>): Promise<T> {
    return writtenWithin(
      work,
      this.storageTimeoutMs,
      'DATA_DIR',
      'retry it later (an upsert or a deletion can be repeated as it is)',
    );
  }

  private async readSequenceFile(): Promise<number> {
    const text = await readFile(join(this.directory, SEQUENCE_FILE), 'utf8').catch(() => '0');
    const sequence = Number.parseInt(text, 10);
    return Number.isSafeInteger(sequence) && sequence > 0 ? sequence : 0;
  }

  /** Renames a damaged file to `<name>.collection.damaged-<time>`, out of the loader's way. */
  private async keepAside(name: string): Promise<string> {
    const file = `${name}${COLLECTION_FILE_SUFFIX}.damaged-${new Date().toISOString().replaceAll(':', '-')}`;
    await rename(this.path(name), join(this.directory, file));
    return file;
  }

  private save(collection: Collection): Promise<void> {
    const name = collection.config.name;
    const queued = this.queuedSaves.get(name);
    if (queued !== undefined) return queued;
    const save: Promise<void> = this.afterFileWork(name, async () => {
      if (this.queuedSaves.get(name) === save) this.queuedSaves.delete(name);
      const refusal = this.refusedSaves.get(save);
      if (refusal !== undefined) throw refusal;
      // A collection dropped (or dropped and re-created) since must not be written back.
      if (this.collections.get(name) !== collection) return;
      try {
        await this.write(collection, this.sequence);
      } catch (error) {
        // The edits this save carried were not acknowledged: they must be neither served nor written by a
        // later save (they were, until a restart dropped them). Those made while it ran, waiting for the
        // next save, are undone with them, so that save is refused too.
        collection.rollback();
        const next = this.queuedSaves.get(name);
        if (next !== undefined) {
          this.refusedSaves.set(next, error as Error);
          this.queuedSaves.delete(name);
        }
        this.log.warn({ collection: name, err: error }, 'a save was refused: its edits are undone');
        throw error;
      }
    });
    this.queuedSaves.set(name, save);
    return save;
  }

  /** Runs `work` on `name`'s file once every file operation on it started or queued before has ended. */
  private afterFileWork(name: string, work: () => Promise<void>): Promise<void> {
    const run = (this.fileWork.get(name) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.fileWork.set(name, run);
    return run;
  }

  /** Writes `collection`'s file, stamped with the change `sequence` it reflects. */
  private async write(collection: Collection, sequence: number): Promise<void> {
    const { snapshot, vectors, index, mark } = collection.snapshot();
    await writeFileAtomically(
      this.path(collection.config.name),
      encodeCollection({ ...snapshot, sequence }, vectors, index),
    );
    collection.commit(mark);
  }

  private path(name: string): string {
    return join(this.directory, `${name}${COLLECTION_FILE_SUFFIX}`);
  }
}
