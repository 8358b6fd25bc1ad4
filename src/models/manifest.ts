// models/manifest.json: the list of served models. Validated at start; the format is documented in
// docs/models.md. A model file whose sha256 differs from the manifest is refused.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PermanentError } from '../errors.js';
import { Manifest, type ManifestEntry } from '../schemas/manifest.js';

/** The setting of an entry that checkEntry refuses, for callers that name it in their own terms. */
export type EntryField =
  | { setting: 'max_batch_size' }
  | { setting: 'work'; key: 'rows' | 'per_row' }
  | { setting: 'range'; input: string };

/** A manifest or model file that is not what it must be; in a job, retrying cannot fix it. */
export class ManifestError extends PermanentError {
  override name = 'ManifestError';

  constructor(
    message: string,
    /** Set by checkEntry: the entry's setting at fault. */
    readonly field?: EntryField,
  ) {
    super(message);
  }
}

export async function readManifest(modelsDir: string): Promise<ManifestEntry[]> {
  const path = join(modelsDir, 'manifest.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ManifestError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const problems = [...Value.Errors(Manifest, parsed)].slice(0, 5);
  if (problems.length > 0) {
    throw new ManifestError(
      `${path} is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    );
  }
  const entries = (parsed as Static<typeof Manifest>).models;
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = `${entry.name}@${entry.version}`;
    if (seen.has(key)) throw new ManifestError(`${path}: ${key} is listed twice`);
    seen.add(key);
    checkEntry(entry);
  }
  return entries;
}

/** What the schema cannot say about one entry: ranges, the work spec, and batching's dynamic first dimension. */
export function checkEntry(entry: ManifestEntry): void {
  const key = `${entry.name}@${entry.version}`;
  for (const spec of entry.inputs) {
    if (spec.range !== undefined && !(spec.range.minimum <= spec.range.maximum)) {
      throw new ManifestError(`${key}: input '${spec.name}' has range minimum above maximum`, {
        setting: 'range',
        input: spec.name,
      });
    }
  }
  checkWorkSpec(key, entry);
  if (entry.max_batch_size > 0) {
    for (const spec of [...entry.inputs, ...entry.outputs]) {
      if (spec.shape[0] !== -1) {
        throw new ManifestError(`${key}: batched model needs a dynamic first dimension on '${spec.name}'`, {
          setting: 'max_batch_size',
        });
      }
      // Requests are stacked along the first dimension, so every other one must be the same for all.
      if (spec.shape.slice(1).some((dim) => dim < 0)) {
        throw new ManifestError(
          `${key}: batched model may have only its first dimension dynamic ('${spec.name}')`,
          { setting: 'max_batch_size' },
        );
      }
    }
  }
}

function checkWorkSpec(key: string, entry: ManifestEntry): void {
  const { rows, per_row: perRow } = entry.work;
  if (!entry.inputs.some((spec) => spec.name === rows)) {
    throw new ManifestError(`${key}: work.rows names '${rows}', which is not an input`, {
      setting: 'work',
      key: 'rows',
    });
  }
  if (perRow !== undefined) {
    const spec = entry.inputs.find((input) => input.name === perRow);
    if (spec === undefined || spec.shape.some((dim) => dim !== 1) || spec.range === undefined) {
      throw new ManifestError(
        `${key}: work.per_row must name a one-element input with a range, got '${perRow}'`,
        { setting: 'work', key: 'per_row' },
      );
    }
  }
}

/** Numeric-aware version order, newest first ('10' before '9'). */
export function newestFirst(a: ManifestEntry, b: ManifestEntry): number {
  return b.version.localeCompare(a.version, 'en', { numeric: true });
}

/** Absolute path of a model file, refusing paths that climb out of the models directory. */
export function modelPath(modelsDir: string, entry: ManifestEntry, file = entry.file): string {
  const root = resolve(modelsDir);
  const path = resolve(root, file);
  if (!path.startsWith(root + sep))
    throw new ManifestError(`${entry.name}: file '${file}' is outside ${root}`);
  return path;
}

/** Reads the model file and checks it against the manifest's sha256. */
export async function readVerifiedModel(
  modelsDir: string,
  entry: ManifestEntry,
  file: { file: string; sha256: string } = entry,
): Promise<Uint8Array> {
  const bytes = await readFile(modelPath(modelsDir, entry, file.file));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== file.sha256) {
    throw new ManifestError(
      `${entry.name}@${entry.version}: sha256 of ${file.file} is ${actual}, manifest says ${file.sha256}`,
    );
  }
  return bytes;
}

/** The batched decoding graph of a language model, checked against the manifest's sha256. */
export function readVerifiedDecoder(modelsDir: string, entry: ManifestEntry): Promise<Uint8Array> {
  const decoder = entry.language_model?.decoder;
  if (decoder === undefined) throw new ManifestError(`${entry.name}: not a language model`);
  return readVerifiedModel(modelsDir, entry, decoder);
}
