// The model repository API's work: an upload checked end to end before anything is stored (size, sha256,
// onnxruntime can load and run the graph, its tensors, batching and work settings, no clash with a baked-in
// model or with another file under the same version), the index of every model with its state, and loads and
// unloads that every replica sharing the repository follows (repository-sync.ts).
import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { ConflictError, InvalidInputError, NotFoundError, TooLargeError } from '../../errors.js';
import { ManifestEntry, type TensorSpec } from '../../schemas/manifest.js';
import { checkEntry, type EntryField, ManifestError } from '../manifest.js';
import type { LoadedModel, ModelRegistry } from '../registry.js';
import type { GraphInspector } from './graph-inspection.js';
import { ModelRepository, type RepositoryVersion } from './model-repository.js';
import type { RepositorySync } from './repository-sync.js';

/** Rows one request may ask of an uploaded model when the upload does not say. */
export const DEFAULT_MAX_ROWS = 65_536;

export interface UploadSettings {
  /** The ONNX file, base64. */
  model: string;
  sha256: string;
  max_batch_size?: number;
  task?: string;
  description?: string;
  work?: { max: number; rows?: string; per_row?: string };
  ranges?: Record<string, { minimum: number; maximum: number }>;
}

/** One line of the repository index, in the Open Inference Protocol's repository-extension shape. */
export interface IndexEntry {
  name: string;
  version: string;
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  reason?: string;
}

const STATES: Record<LoadedModel['state'], IndexEntry['state']> = {
  ready: 'READY',
  loading: 'LOADING',
  unloading: 'UNLOADING',
  failed: 'UNAVAILABLE',
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class RepositoryService {
  constructor(
    readonly repository: ModelRepository,
    private readonly registry: ModelRegistry,
    private readonly sync: RepositorySync,
    private readonly uploadLimitBytes: number,
    private readonly inspector: GraphInspector,
  ) {}

  /** Stores a new version; `created` is false when the same file was already stored under it. */
  async upload(
    name: string,
    version: string,
    settings: UploadSettings,
  ): Promise<{ entry: ManifestEntry; created: boolean }> {
    if (this.registry.isBakedIn(name)) {
      throw new ConflictError(`'${name}' is a baked-in model of the manifest; upload under another name`);
    }
    const bytes = decodeModel(settings.model, this.uploadLimitBytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== settings.sha256) {
      throw new InvalidInputError(`the upload's sha256 is ${sha256}, not ${settings.sha256}`, [
        { path: '/body/sha256', message: `does not match the file (its sha256 is ${sha256})` },
      ]);
    }
    const existing = await this.repository.find(name, version);
    if (existing !== undefined && 'entry' in existing) {
      if (existing.entry.sha256 === sha256) return { entry: existing.entry, created: false };
      throw new ConflictError(
        `${name}@${version} holds another file; versions are immutable, upload a new one`,
      );
    }
    // A version whose entry was damaged on disk is stored again from the same file, which repairs it.
    const stored = existing === undefined ? undefined : await this.repository.storedSha256(name, version);
    if (stored !== undefined && stored !== sha256) {
      throw new ConflictError(
        `${name}@${version} holds another file (its entry is damaged on disk); versions are immutable, upload a new one`,
      );
    }
    const graph = await this.inspector.inspect(bytes);
    if ('error' in graph) {
      throw new InvalidInputError(`onnxruntime cannot load or run the graph: ${graph.error}`, [
        { path: '/body/model', message: `onnxruntime cannot load or run it: ${graph.error}` },
      ]);
    }
    const entry = entryFor(name, version, sha256, settings, graph.inputs, graph.outputs);
    await this.repository.store(entry, bytes);
    return { entry, created: true };
  }

  /** Every model of the manifest and every stored version; with `readyOnly`, those ready to infer. */
  async index(readyOnly: boolean): Promise<IndexEntry[]> {
    const lines: IndexEntry[] = [];
    const loaded = new Map(this.registry.list().map((model) => [model.key, model]));
    for (const model of loaded.values()) {
      if (model.source === 'manifest') lines.push(lineOf(model));
    }
    const { versions, damaged } = await this.repository.scan();
    for (const { entry } of versions) {
      const model = loaded.get(`${entry.name}@${entry.version}`);
      if (model !== undefined) lines.push(lineOf(model));
      else {
        const reason = this.sync.failure(entry) ?? 'not loaded';
        lines.push({ name: entry.name, version: entry.version, state: 'UNAVAILABLE', reason });
      }
    }
    for (const { name, version, damage } of damaged) {
      const model = loaded.get(`${name}@${version}`);
      const reason = `damaged on disk: ${damage}; upload the same file to this version again to repair it`;
      lines.push(
        model === undefined ? { name, version, state: 'UNAVAILABLE', reason } : { ...lineOf(model), reason },
      );
    }
    lines.sort(
      (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, 'en', { numeric: true }),
    );
    return readyOnly ? lines.filter((line) => line.state === 'READY') : lines;
  }

  /** The stored versions of a model (one when `version` is given); 404 when there are none. */
  async versionsOf(name: string, version?: string): Promise<RepositoryVersion[]> {
    const versions = (await this.repository.versions()).filter(
      ({ entry }) => entry.name === name && (version === undefined || entry.version === version),
    );
    if (versions.length === 0) {
      throw new NotFoundError(
        `the model repository has no model '${name}'${version === undefined ? '' : ` at version '${version}'`}`,
      );
    }
    return versions;
  }

  isBakedIn(name: string): boolean {
    return this.registry.isBakedIn(name);
  }

  load(versions: RepositoryVersion[]): Promise<void> {
    return this.sync.load(versions);
  }

  unload(versions: RepositoryVersion[]): Promise<void> {
    return this.sync.unload(versions);
  }
}

function lineOf(model: LoadedModel): IndexEntry {
  return {
    name: model.entry.name,
    version: model.entry.version,
    state: STATES[model.state],
    ...(model.reason === undefined ? {} : { reason: model.reason }),
  };
}

function decodeModel(base64: string, limitBytes: number): Uint8Array {
  const bytes = Math.floor((base64.length * 3) / 4);
  if (bytes > limitBytes) {
    throw new TooLargeError(
      `the model is about ${bytes} bytes; the limit is ${limitBytes} (MODEL_UPLOAD_LIMIT_BYTES)`,
      [{ path: '/body/model', message: `is over ${limitBytes} bytes` }],
    );
  }
  if (base64.length % 4 !== 0 || !BASE64.test(base64)) {
    throw new InvalidInputError('the model is not base64', [
      { path: '/body/model', message: 'must be the ONNX file in base64' },
    ]);
  }
  return Buffer.from(base64, 'base64');
}

/** The manifest entry of an upload: tensors from the graph, the rest from the settings or the defaults. */
function entryFor(
  name: string,
  version: string,
  sha256: string,
  settings: UploadSettings,
  graphInputs: TensorSpec[],
  outputs: TensorSpec[],
): ManifestEntry {
  const unknown = Object.keys(settings.ranges ?? {}).filter(
    (input) => !graphInputs.some((spec) => spec.name === input),
  );
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `the graph has no input ${unknown.join(', ')}`,
      unknown.map((input) => ({
        path: `/body/ranges/${input}`,
        message: `the graph's inputs are ${graphInputs.map((spec) => spec.name).join(', ')}`,
      })),
    );
  }
  const inputs = graphInputs.map((spec) => {
    const range = settings.ranges?.[spec.name];
    return range === undefined ? spec : { ...spec, range };
  });
  const entry: ManifestEntry = {
    name,
    version,
    task: settings.task ?? 'custom',
    description: settings.description ?? '',
    file: ModelRepository.fileOf(name, version),
    sha256,
    max_batch_size: settings.max_batch_size ?? 0,
    inputs,
    outputs,
    work: {
      max: settings.work?.max ?? DEFAULT_MAX_ROWS,
      rows: settings.work?.rows ?? (inputs[0] as TensorSpec).name,
      ...(settings.work?.per_row === undefined ? {} : { per_row: settings.work.per_row }),
    },
    metrics: {},
    training: { command: `uploaded through PUT /v1/models/${name}/versions/${version}` },
  };
  if (!Value.Check(ManifestEntry, entry)) {
    const first = [...Value.Errors(ManifestEntry, entry)][0];
    throw new InvalidInputError(
      `the upload does not make a valid model entry: ${first?.path} ${first?.message}`,
    );
  }
  try {
    checkEntry(entry);
  } catch (error) {
    if (!(error instanceof ManifestError) || error.field === undefined) throw error;
    const message = error.message.replace(`${name}@${version}: `, '');
    throw new InvalidInputError(message, [{ path: uploadPathOf(error.field), message }]);
  }
  return entry;
}

/** Where the upload's body gives the entry setting checkEntry refused. */
function uploadPathOf(field: EntryField): string {
  if (field.setting === 'max_batch_size') return '/body/max_batch_size';
  if (field.setting === 'work') return `/body/work/${field.key}`;
  return `/body/ranges/${field.input}`;
}
