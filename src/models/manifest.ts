// models/manifest.json: the list of served models. Validated at start; the format is documented in
// docs/models.md. A model file whose sha256 differs from the manifest is refused.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DATATYPES } from './tensor.js';

export const TensorSpec = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    datatype: Type.Union(DATATYPES.map((datatype) => Type.Literal(datatype))),
    shape: Type.Array(Type.Integer({ minimum: -1 }), { description: '-1 marks a dynamic dimension.' }),
    range: Type.Optional(
      Type.Object(
        { minimum: Type.Number(), maximum: Type.Number() },
        {
          additionalProperties: false,
          description: 'Inputs only: values outside [minimum, maximum] are refused.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TensorSpec = Static<typeof TensorSpec>;

/**
 * How much work one request may ask of a model, checked before it runs: rows × per-row cost, where the rows
 * are the product of the dynamic dimensions of one input and the per-row cost is 1 or the value of a
 * one-element input (iterated-map: its step count). Past `max` the inference route answers 413.
 */
export const WorkSpec = Type.Object(
  {
    max: Type.Integer({
      minimum: 1,
      description: 'Most work (rows × per-row cost) one request may ask for.',
    }),
    rows: Type.String({
      description: 'The input whose dynamic dimensions (-1 in its shape) count the rows.',
    }),
    per_row: Type.Optional(
      Type.String({ description: 'A one-element input whose value each row costs; absent: 1 per row.' }),
    ),
  },
  { additionalProperties: false },
);
export type WorkSpec = Static<typeof WorkSpec>;

/** The inference pool every model without its own runs in. */
export const SHARED_POOL = 'shared';

/** What makes a model an image generator: how to sample it and which decoder turns its latents into images. */
export const GeneratorSpec = Type.Object(
  {
    kind: Type.Union([Type.Literal('meanflow'), Type.Literal('flow-matching')], {
      description:
        'meanflow: u(z, r, t, y) is the average velocity over [r, t]; flow-matching: r = t, Euler steps.',
    }),
    latent_dim: Type.Integer({ minimum: 1 }),
    decoder: Type.String({ description: 'Manifest name of the model mapping latents to images in [0, 1].' }),
    classes: Type.Array(Type.String(), { minItems: 1 }),
    null_class: Type.Integer({ minimum: 0, description: 'The unconditional label used in training.' }),
    guidance: Type.Record(Type.String(), Type.Number(), {
      description: 'Guidance baked in by training (ω, κ).',
    }),
    steps: Type.Object({ min: Type.Integer({ minimum: 1 }), max: Type.Integer({ minimum: 1 }) }),
  },
  { additionalProperties: false },
);
export type GeneratorSpec = Static<typeof GeneratorSpec>;

/** What makes a model an incremental decoder: its vocabulary, its cache layout and its antidistillation role. */
export const LanguageModelSpec = Type.Object(
  {
    vocabulary: Type.String({
      description: 'Spec file of the vocabulary, relative to the models directory.',
    }),
    cache: Type.Object(
      {
        layers: Type.Integer({ minimum: 1 }),
        heads: Type.Integer({ minimum: 1 }),
        head_dim: Type.Integer({ minimum: 1 }),
      },
      {
        additionalProperties: false,
        description: 'Input past / output present: [layers, 2, 1, heads, positions, head_dim].',
      },
    ),
    proxies: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: 'Name of the proxy student the pair perturbs.' }),
            epsilon: Type.Number({ exclusiveMinimum: 0 }),
            plus: Type.String({ description: 'Manifest name of θ_P + εg.' }),
            minus: Type.String({ description: 'Manifest name of θ_P − εg.' }),
          },
          { additionalProperties: false },
        ),
        {
          description: 'Teachers only: the proxy pairs antidistillation sampling can tilt this teacher with.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type LanguageModelSpec = Static<typeof LanguageModelSpec>;

export const ManifestEntry = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 128 }),
    version: Type.String({ pattern: '^[A-Za-z0-9._-]+$', maxLength: 64 }),
    task: Type.String(),
    description: Type.String(),
    file: Type.String({ minLength: 1 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    max_batch_size: Type.Integer({
      minimum: 0,
      description:
        '0: the server does not batch; n ≥ 1: the first dimension is the batch, micro-batched up to n.',
    }),
    inputs: Type.Array(TensorSpec, { minItems: 1 }),
    outputs: Type.Array(TensorSpec, { minItems: 1 }),
    work: WorkSpec,
    pool: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._-]+$',
        maxLength: 64,
        description:
          `Inference pool: a model of very different or unbounded cost gets threads of its own (a bulkhead), ` +
          `so it cannot starve the others. Absent: '${SHARED_POOL}'.`,
      }),
    ),
    metrics: Type.Record(Type.String(), Type.Unknown()),
    training: Type.Object(
      { command: Type.String(), seed: Type.Optional(Type.Integer()) },
      { additionalProperties: true },
    ),
    card: Type.Optional(Type.String()),
    generator: Type.Optional(GeneratorSpec),
    language_model: Type.Optional(LanguageModelSpec),
  },
  { additionalProperties: false },
);
export type ManifestEntry = Static<typeof ManifestEntry>;

export const Manifest = Type.Object({ models: Type.Array(ManifestEntry) }, { additionalProperties: false });

export class ManifestError extends Error {
  override name = 'ManifestError';
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
    for (const spec of entry.inputs) {
      if (spec.range !== undefined && !(spec.range.minimum <= spec.range.maximum)) {
        throw new ManifestError(`${key}: input '${spec.name}' has range minimum above maximum`);
      }
    }
    checkWorkSpec(key, entry);
    if (entry.max_batch_size > 0) {
      for (const spec of [...entry.inputs, ...entry.outputs]) {
        if (spec.shape[0] !== -1) {
          throw new ManifestError(`${key}: batched model needs a dynamic first dimension on '${spec.name}'`);
        }
        // Requests are stacked along the first dimension, so every other one must be the same for all.
        if (spec.shape.slice(1).some((dim) => dim < 0)) {
          throw new ManifestError(
            `${key}: batched model may have only its first dimension dynamic ('${spec.name}')`,
          );
        }
      }
    }
  }
  return entries;
}

function checkWorkSpec(key: string, entry: ManifestEntry): void {
  const { rows, per_row: perRow } = entry.work;
  if (!entry.inputs.some((spec) => spec.name === rows)) {
    throw new ManifestError(`${key}: work.rows names '${rows}', which is not an input`);
  }
  if (perRow !== undefined) {
    const spec = entry.inputs.find((input) => input.name === perRow);
    if (spec === undefined || spec.shape.some((dim) => dim !== 1) || spec.range === undefined) {
      throw new ManifestError(
        `${key}: work.per_row must name a one-element input with a range, got '${perRow}'`,
      );
    }
  }
}

/** Numeric-aware version order, newest first ('10' before '9'). */
export function newestFirst(a: ManifestEntry, b: ManifestEntry): number {
  return b.version.localeCompare(a.version, 'en', { numeric: true });
}

/** Absolute path of a model file, refusing paths that climb out of the models directory. */
export function modelPath(modelsDir: string, entry: ManifestEntry): string {
  const root = resolve(modelsDir);
  const path = resolve(root, entry.file);
  if (!path.startsWith(root + sep))
    throw new ManifestError(`${entry.name}: file '${entry.file}' is outside ${root}`);
  return path;
}

/** Reads the model file and checks it against the manifest's sha256. */
export async function readVerifiedModel(modelsDir: string, entry: ManifestEntry): Promise<Uint8Array> {
  const bytes = await readFile(modelPath(modelsDir, entry));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== entry.sha256) {
    throw new ManifestError(
      `${entry.name}@${entry.version}: sha256 of ${entry.file} is ${actual}, manifest says ${entry.sha256}`,
    );
  }
  return bytes;
}
