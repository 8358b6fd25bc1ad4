// The model manifest's format (models/manifest.json), as TypeBox: what a served model declares — its tensors,
// the work one request may ask of it, its pool, and what makes it a generator or a language model. The
// registry validates the file against it; GET /v1/models shows parts of it. Documented in docs/models.md.
import { type Static, Type } from '@sinclair/typebox';

/** The tensor datatypes of the Open Inference Protocol that meanserve serves. */
export const DATATYPES = ['FP32', 'FP64', 'INT32', 'INT64', 'UINT8', 'BOOL'] as const;
export type Datatype = (typeof DATATYPES)[number];

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
    decoder: Type.Object(
      {
        file: Type.String({ description: 'The batched decoding graph, relative to the models directory.' }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        context: Type.Integer({ minimum: 1, description: 'Positions of a cache slot (the context window).' }),
      },
      {
        additionalProperties: false,
        description:
          'decode(input_ids [B, T], positions [B], key<l>/value<l> [B, heads, context, head_dim]) → ' +
          '(logits [B, vocabulary], new_kv [B, layers, 2, heads, T, head_dim]): what the server decodes with, ' +
          'every running sequence of the model in one batch (training/export_batched_decoder.py).',
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

/** Finds a served model's manifest entry (its newest version when none is given); throws NotFoundError. */
export type ModelLookup = (name: string, version?: string) => ManifestEntry;
