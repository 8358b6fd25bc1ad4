// Keeps this replica's loaded models equal to what the repository says should be loaded: at start, every
// MODEL_REPOSITORY_POLL_MS, and at once when this replica is asked to load or unload. Replicas sharing the
// repository directory therefore converge within one poll of whichever replica was told. Every change runs
// through one chain, so a poll never races an API call.
import { InvalidInputError, isStorageError } from '../../errors.js';
import type { Log } from '../../lib/log.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import type { ModelRegistry } from '../registry.js';
import type { DamagedVersion, ModelRepository, RepositoryVersion } from './model-repository.js';

const keyOf = (entry: ManifestEntry) => `${entry.name}@${entry.version}`;

export class RepositorySync {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Versions that would not load here, with why; not retried by the poll until the sha256 changes. */
  private readonly failures = new Map<string, { sha256: string; reason: string }>();
  /** Damaged entries already logged. */
  private reported = new Set<string>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly registry: ModelRegistry,
    private readonly log: Log,
    private readonly pollMs: number,
  ) {}

  start(): Promise<void> {
    const first = this.reconcile();
    this.timer = setInterval(() => {
      this.reconcile().catch((error: Error) =>
        this.log.error({ err: error }, 'model repository poll failed'),
      );
    }, this.pollMs);
    this.timer.unref();
    return first;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.chain.catch(() => undefined);
  }

  /** Versions whose entry the last reconciliation found damaged on disk. */
  get damaged(): number {
    return this.reported.size;
  }

  /** Why a version could not be loaded on this replica, if it could not. */
  failure(entry: ManifestEntry): string | undefined {
    return this.failures.get(keyOf(entry))?.reason;
  }

  /**
   * Marks the versions loaded and loads them here. All or nothing: when one fails, every version this call
   * loaded is unloaded again and unmarked, and the reason is thrown: a 400 naming the version, or the
   * disk's own error (507 full, 503 failed or not answering), which is not the model's fault.
   */
  load(versions: RepositoryVersion[]): Promise<void> {
    return this.serialised(async () => {
      const loadedHere: ManifestEntry[] = [];
      for (const { entry } of versions) {
        this.failures.delete(keyOf(entry));
        try {
          await this.registry.addModel(entry, await this.repository.read(entry));
          // Undone with the others should its mark not be written (it stayed loaded before).
          loadedHere.push(entry);
          await this.repository.setLoaded(entry.name, entry.version, true);
        } catch (error) {
          for (const loaded of loadedHere) {
            await this.registry.removeModel(keyOf(loaded));
            await this.repository
              .setLoaded(loaded.name, loaded.version, false)
              .catch((unmark: Error) =>
                this.log.error({ err: unmark, model: keyOf(loaded) }, 'unmarking failed'),
              );
          }
          if (isStorageError(error)) throw error;
          throw new InvalidInputError(
            `the model could not be loaded: ${keyOf(entry)}: ${(error as Error).message}`,
          );
        }
      }
    });
  }

  /** Unmarks the versions and unloads them here once their requests in flight have finished. */
  unload(versions: RepositoryVersion[]): Promise<void> {
    return this.serialised(async () => {
      for (const { entry } of versions) {
        await this.repository.setLoaded(entry.name, entry.version, false);
        await this.registry.removeModel(keyOf(entry));
      }
    });
  }

  reconcile(): Promise<void> {
    return this.serialised(async () => {
      const { versions, damaged } = await this.repository.scan();
      const wanted = new Set([
        ...versions.filter((version) => version.loaded).map(({ entry }) => keyOf(entry)),
        // A version whose entry was damaged on disk stays as it is here, loaded if it was and marked: its
        // session is sound, and dropping it would take a serving model off every replica within a poll.
        ...damaged.filter((version) => version.loaded).map(({ name, version }) => `${name}@${version}`),
      ]);
      this.reportDamage(damaged);
      for (const model of this.registry.list()) {
        if (model.source === 'repository' && !wanted.has(model.key))
          await this.registry.removeModel(model.key);
      }
      for (const { entry, loaded } of versions) {
        const known = this.failures.get(keyOf(entry));
        if (!loaded || known?.sha256 === entry.sha256 || this.isLoaded(entry)) continue;
        try {
          await this.registry.addModel(entry, await this.repository.read(entry));
          this.failures.delete(keyOf(entry));
        } catch (error) {
          const reason = (error as Error).message;
          this.failures.set(keyOf(entry), { sha256: entry.sha256, reason });
          this.log.error({ model: keyOf(entry), reason }, 'repository model failed to load');
        }
      }
    });
  }

  /** Logs each damaged entry once (until it changes), not at every poll. */
  private reportDamage(damaged: DamagedVersion[]): void {
    const now = new Set(damaged.map(({ name, version, damage }) => `${name}@${version}: ${damage}`));
    for (const line of now) {
      if (!this.reported.has(line))
        this.log.error({ damage: line }, 'model repository entry damaged on disk');
    }
    this.reported = now;
  }

  private isLoaded(entry: ManifestEntry): boolean {
    return this.registry.list().some((model) => model.key === keyOf(entry) && model.state === 'ready');
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
