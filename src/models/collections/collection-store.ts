// Every collection of this process, persisted under DATA_DIR/collections/ (one file each, see
// collection-file.ts) and reloaded on start. Changes are made in memory and acknowledged once written:
// `change` applies a synchronous edit and resolves when a file holding it is on disk. Saves of one
// collection are serialised and coalesced (edits that arrive while a save runs share the next one).
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../../lib/log.js';
import { ConflictError, NotFoundError } from '../../server/errors.js';
import { Collection, type CollectionConfig } from './collection.js';
import {
  COLLECTION_FILE_SUFFIX,
  encodeCollection,
  readCollectionFile,
  writeFileAtomically,
} from './collection-file.js';

export class CollectionStore {
  private readonly collections = new Map<string, Collection>();
  /** The save that has not started yet, per collection: new edits join it. */
  private readonly queuedSaves = new Map<string, Promise<void>>();
  /** The newest save per collection, started or not. */
  private readonly lastSaves = new Map<string, Promise<void>>();
  readonly directory: string;

  constructor(
    dataDir: string,
    private readonly log: Log,
  ) {
    this.directory = join(dataDir, 'collections');
  }

  /** Loads every collection file; a file that cannot be read is logged and left alone, not deleted. */
  async load(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    for (const file of (await readdir(this.directory)).sort()) {
      if (!file.endsWith(COLLECTION_FILE_SUFFIX)) continue;
      try {
        const saved = await readCollectionFile(join(this.directory, file));
        this.collections.set(saved.snapshot.config.name, new Collection(saved.snapshot.config, saved));
      } catch (error) {
        this.log.error({ err: error, file }, 'collection file could not be loaded');
      }
    }
    this.log.info({ collections: this.collections.size }, 'collections loaded');
  }

  list(): Collection[] {
    return [...this.collections.values()].sort((a, b) => a.config.name.localeCompare(b.config.name));
  }

  get(name: string): Collection {
    const collection = this.collections.get(name);
    if (collection === undefined) {
      throw new NotFoundError(`collection '${name}' does not exist; see GET /v1/collections`);
    }
    return collection;
  }

  async create(config: CollectionConfig): Promise<Collection> {
    if (this.collections.has(config.name))
      throw new ConflictError(`collection '${config.name}' already exists`);
    const collection = new Collection(config);
    this.collections.set(config.name, collection);
    await this.save(collection);
    return collection;
  }

  async drop(name: string): Promise<void> {
    this.get(name);
    this.collections.delete(name);
    await this.lastSaves.get(name)?.catch(() => undefined);
    await rm(this.path(name), { force: true });
  }

  /** Applies `edit` now (it must validate before it changes anything) and resolves once it is on disk. */
  async change<T>(name: string, edit: (collection: Collection) => T): Promise<T> {
    const collection = this.get(name);
    const result = edit(collection);
    await this.save(collection);
    return result;
  }

  /** Waits for every save in flight (shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.lastSaves.values()]);
  }

  private save(collection: Collection): Promise<void> {
    const name = collection.config.name;
    const queued = this.queuedSaves.get(name);
    if (queued !== undefined) return queued;
    const previous = this.lastSaves.get(name) ?? Promise.resolve();
    const save = previous
      .catch(() => undefined)
      .then(async () => {
        this.queuedSaves.delete(name);
        // A collection dropped (or dropped and re-created) since must not be written back.
        if (this.collections.get(name) !== collection) return;
        const { snapshot, vectors, index } = collection.snapshot();
        await writeFileAtomically(this.path(name), encodeCollection(snapshot, vectors, index));
      });
    this.queuedSaves.set(name, save);
    this.lastSaves.set(name, save);
    return save;
  }

  private path(name: string): string {
    return join(this.directory, `${name}${COLLECTION_FILE_SUFFIX}`);
  }
}
