// The model repository on disk (MODEL_REPOSITORY_DIR): one directory per uploaded version,
//   <name>/<version>/model.onnx   the graph, sha256-checked whenever it is read
//   <name>/<version>/entry.json   its manifest entry; written last, so a version without it is an upload
//                                 that never finished and is ignored; one that cannot be read was damaged
//                                 on disk (it is replaced atomically), and is reported, never dropped
//   <name>/<version>/LOADED       present while the version should be loaded on every replica
// Replicas that share the directory (a volume) share the models: each reconciles with it (repository-sync.ts).
// Versions are immutable: a new file is a new version.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_STORAGE_TIMEOUT_MS } from '../../config.js';
import { writeFileAtomically } from '../../lib/atomic-file.js';
import { writtenWithin } from '../../lib/settle-within.js';
import { ManifestEntry } from '../../schemas/manifest.js';
import { readVerifiedModel } from '../manifest.js';

export const MODEL_FILE = 'model.onnx';
const ENTRY_FILE = 'entry.json';
const LOADED_MARK = 'LOADED';

export interface RepositoryVersion {
  entry: ManifestEntry;
  /** Whether the version should be loaded (its LOADED mark is present). */
  loaded: boolean;
}

/** A version whose entry.json is there but cannot be read: damaged on disk. */
export interface DamagedVersion {
  name: string;
  version: string;
  loaded: boolean;
  /** What is wrong with its entry. */
  damage: string;
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

async function listDirectories(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

export class ModelRepository {
  /** Writes not answered within `storageTimeoutMs` are a 503 (a hung volume); they go on meanwhile. */
  constructor(
    readonly dir: string,
    private readonly storageTimeoutMs = DEFAULT_STORAGE_TIMEOUT_MS,
  ) {}

  /** The file of a version, relative to the repository (what its entry's `file` says). */
  static fileOf(name: string, version: string): string {
    return `${name}/${version}/${MODEL_FILE}`;
  }

  /** Every complete version, by name then version. */
  async versions(): Promise<RepositoryVersion[]> {
    return (await this.scan()).versions;
  }

  /** Every complete version, and every version whose entry was damaged on disk. */
  async scan(): Promise<{ versions: RepositoryVersion[]; damaged: DamagedVersion[] }> {
    const versions: RepositoryVersion[] = [];
    const damaged: DamagedVersion[] = [];
    for (const name of await listDirectories(this.dir)) {
      for (const version of await listDirectories(join(this.dir, name))) {
        const stored = await this.find(name, version);
        if (stored === undefined) continue;
        if ('damage' in stored) damaged.push(stored);
        else versions.push(stored);
      }
    }
    return { versions, damaged };
  }

  /** One version; undefined when it was never (completely) uploaded. */
  async find(name: string, version: string): Promise<RepositoryVersion | DamagedVersion | undefined> {
    const directory = join(this.dir, name, version);
    const loaded = await stat(join(directory, LOADED_MARK)).then(
      () => true,
      () => false,
    );
    let text: string;
    try {
      text = await readFile(join(directory, ENTRY_FILE), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      return { name, version, loaded, damage: `${ENTRY_FILE} cannot be read: ${(error as Error).message}` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { name, version, loaded, damage: `${ENTRY_FILE} is not JSON: ${(error as Error).message}` };
    }
    if (!Value.Check(ManifestEntry, parsed)) {
      const first = [...Value.Errors(ManifestEntry, parsed)][0];
      return {
        name,
        version,
        loaded,
        damage: `${ENTRY_FILE} is not a model entry: ${first?.path} ${first?.message}`,
      };
    }
    if (parsed.name !== name || parsed.version !== version) {
      return { name, version, loaded, damage: `${ENTRY_FILE} names ${parsed.name}@${parsed.version}` };
    }
    return { entry: parsed, loaded };
  }

  /** The sha256 of a version's stored graph, as it is on disk; undefined when it has none. */
  async storedSha256(name: string, version: string): Promise<string | undefined> {
    try {
      return createHash('sha256')
        .update(await readFile(join(this.dir, name, version, MODEL_FILE)))
        .digest('hex');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Stores a new version: the graph first, then its entry, each replaced atomically. */
  store(entry: ManifestEntry, model: Uint8Array): Promise<void> {
    const directory = join(this.dir, entry.name, entry.version);
    return this.written(
      (async () => {
        await mkdir(directory, { recursive: true });
        await writeFileAtomically(join(directory, MODEL_FILE), model);
        await writeFileAtomically(
          join(directory, ENTRY_FILE),
          new TextEncoder().encode(JSON.stringify(entry, null, 2)),
        );
      })(),
    );
  }

  setLoaded(name: string, version: string, loaded: boolean): Promise<void> {
    const mark = join(this.dir, name, version, LOADED_MARK);
    return this.written(loaded ? writeFile(mark, '') : rm(mark, { force: true }));
  }

  private written(work: Promise<void>): Promise<void> {
    return writtenWithin(
      work,
      this.storageTimeoutMs,
      'MODEL_REPOSITORY_DIR',
      'repeat it later (the same file uploaded to the same version, a load or an unload can be repeated)',
    );
  }

  /** The graph of a version, checked against its entry's sha256. */
  read(entry: ManifestEntry): Promise<Uint8Array> {
    return readVerifiedModel(this.dir, entry);
  }
}
