// Models opened directly in the current thread, by manifest name, for job processors: a job may run in a
// worker process with no API and no inference threads. Sessions open on first use and are verified
// against the manifest's sha256 like the registry's. Uploaded models marked loaded in the model repository
// are found too, so a job can run what the API serves.
import type * as ort from 'onnxruntime-node';
import type { ModelAccess } from '../config.js';
import type { ManifestEntry } from '../schemas/manifest.js';
import type { RunModel } from './generator.js';
import { BatchedDecoder, decodeSpecOf } from './lm/batched-decoder.js';
import { DecodeScheduler } from './lm/decode-scheduler.js';
import type { Decoder } from './lm/decoder.js';
import { newestFirst, readManifest, readVerifiedDecoder, readVerifiedModel } from './manifest.js';
import { ModelRepository } from './repository/model-repository.js';
import { openSession, runSession } from './session.js';
import type { Tensor } from './tensor.js';

const keyOf = (entry: ManifestEntry) => `${entry.name}@${entry.version}`;

export class LocalModels {
  private entries: ManifestEntry[] | undefined;
  /** Where each entry's files are: the manifest's directory, or the model repository for uploads. */
  private readonly directories = new Map<string, string>();
  private readonly sessions = new Map<string, { session: ort.InferenceSession; provider: string }>();
  private readonly schedulers = new Map<string, Promise<DecodeScheduler>>();
  private readonly decodeSessions: ort.InferenceSession[] = [];

  constructor(private readonly access: ModelAccess) {}

  /** The manifest entry of `name` at `version`, or its newest version; undefined when not served. */
  async entry(name: string, version?: string): Promise<ManifestEntry | undefined> {
    const versions = (await this.served()).filter((entry) => entry.name === name).sort(newestFirst);
    return version === undefined ? versions[0] : versions.find((entry) => entry.version === version);
  }

  /** A synchronous lookup over the manifest (newest version when none is named), for planning. */
  async lookup(): Promise<(name: string, version?: string) => ManifestEntry> {
    const entries = [...(await this.served())].sort(newestFirst);
    return (name, version) => {
      const found = entries.find((e) => e.name === name && (version === undefined || e.version === version));
      if (found === undefined) throw new Error(`model ${name}${version ? `@${version}` : ''} is not served`);
      return found;
    };
  }

  /**
   * A sequence of a language model decoded on this thread by its batched decoding graph, as the API's
   * decoder threads decode it (so a job samples the same tokens); this thread's sequences of one model
   * step together.
   */
  async decoder(entry: ManifestEntry): Promise<Decoder> {
    const key = `${entry.name}@${entry.version}`;
    let scheduler = this.schedulers.get(key);
    if (scheduler === undefined) {
      scheduler = this.openScheduler(entry);
      this.schedulers.set(key, scheduler);
    }
    return (await scheduler).open();
  }

  async run(
    entry: ManifestEntry,
    inputs: Record<string, Tensor>,
    outputs: string[],
  ): Promise<Record<string, Tensor>> {
    return runSession((await this.open(entry)).session, inputs, outputs);
  }

  /** Runs the newest version of a model by name: the RunModel the generator sampler takes. */
  readonly runByName: RunModel = async (name, inputs, outputs) => {
    const entry = await this.entry(name);
    if (entry === undefined) throw new Error(`model ${name} is not served`);
    return this.run(entry, inputs, outputs);
  };

  /** The execution provider holding the entry's session (opening it if needed). */
  async provider(entry: ManifestEntry): Promise<string> {
    return (await this.open(entry)).provider;
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()].map(({ session }) => session);
    await Promise.all([...sessions, ...this.decodeSessions.splice(0)].map((session) => session.release()));
    this.sessions.clear();
    this.schedulers.clear();
  }

  /** The manifest's models and the uploaded versions marked loaded in the model repository. */
  private async served(): Promise<ManifestEntry[]> {
    if (this.entries === undefined) {
      const manifest = await readManifest(this.access.modelsDir);
      const uploaded = (await new ModelRepository(this.access.modelRepositoryDir).versions())
        .filter((version) => version.loaded)
        .map((version) => version.entry);
      for (const entry of manifest) this.directories.set(keyOf(entry), this.access.modelsDir);
      for (const entry of uploaded) this.directories.set(keyOf(entry), this.access.modelRepositoryDir);
      this.entries = [...manifest, ...uploaded];
    }
    return this.entries;
  }

  private async openScheduler(entry: ManifestEntry): Promise<DecodeScheduler> {
    if (entry.language_model === undefined) throw new Error(`model ${entry.name} is not a language model`);
    const model = await readVerifiedDecoder(this.access.modelsDir, entry);
    // One intra-op thread, as on the decoder threads: the same bits whatever the batch.
    const { session } = await openSession(model, this.access.executionProviders, 1);
    this.decodeSessions.push(session);
    const spec = decodeSpecOf(entry.language_model);
    const decoder = new BatchedDecoder(session, spec);
    return new DecodeScheduler((step) => decoder.run(step), spec.context);
  }

  private async open(entry: ManifestEntry) {
    const key = `${entry.name}@${entry.version}`;
    let opened = this.sessions.get(key);
    if (opened === undefined) {
      await this.served();
      const directory = this.directories.get(key) ?? this.access.modelsDir;
      const model = await readVerifiedModel(directory, entry);
      opened = await openSession(model, this.access.executionProviders, this.access.intraOpThreads);
      this.sessions.set(key, opened);
    }
    return opened;
  }
}
