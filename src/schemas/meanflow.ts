// Image generation: the samples request and reply, and the grid's query.
import { Type } from '@sinclair/typebox';
import { ModelName, Seed } from './common.js';

/** The generator of /v1/meanflow when a request names none. */
export const DEFAULT_GENERATOR = 'meanflow-fmnist';

export const ModelReference = Type.Object({
  name: Type.String(),
  version: Type.String(),
  sha256: Type.String(),
});

export const SamplesBody = Type.Object(
  {
    model: Type.Optional({ ...ModelName, description: `A generator model; default ${DEFAULT_GENERATOR}.` }),
    n: Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'Samples to generate.' }),
    classes: Type.Optional(
      Type.Union(
        [
          Type.Integer({ minimum: 0, maximum: 1023 }),
          Type.Array(Type.Integer({ minimum: 0, maximum: 1023 }), { minItems: 1, maxItems: 256 }),
        ],
        { description: 'One class for all, one per sample, or absent for uniformly random classes.' },
      ),
    ),
    steps: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 1,
      description:
        'Network evaluations: 1 or 2 for MeanFlow, 1 … 64 Euler steps for the flow-matching baseline.',
    }),
    seed: Type.Optional(Seed),
    format: Type.Union([Type.Literal('png'), Type.Literal('raw')], {
      default: 'png',
      description: 'png: base64 PNG per sample; raw: 784 intensities in [0, 1], row-major.',
    }),
  },
  {
    additionalProperties: false,
    examples: [{ n: 4, classes: [0, 1, 7, 9], steps: 1, seed: 42, format: 'png' }],
  },
);

export const SamplesReply = Type.Object(
  {
    samples: Type.Array(
      Type.Object({
        class: Type.Integer(),
        class_name: Type.String(),
        png: Type.Optional(Type.String({ description: 'base64 PNG, 28×28 greyscale' })),
        data: Type.Optional(Type.Array(Type.Number())),
      }),
    ),
    seed: Type.Integer(),
    steps: Type.Integer(),
    nfe: Type.Integer({ description: 'Network evaluations of the velocity model per sample.' }),
    model: ModelReference,
    decoder: ModelReference,
    guidance: Type.Record(Type.String(), Type.Number(), { description: 'Guidance baked in by training.' }),
    timing: Type.Object({ ms: Type.Number() }),
  },
  {
    examples: [
      {
        samples: [{ class: 7, class_name: 'Sneaker', png: 'iVBORw0KGgo…' }],
        seed: 42,
        steps: 1,
        nfe: 1,
        model: { name: 'meanflow-fmnist', version: '3', sha256: '…' },
        decoder: { name: 'fmnist-ae-decoder', version: '2', sha256: '…' },
        guidance: { omega: 1.5, kappa: 0 },
        timing: { ms: 4.2 },
      },
    ],
  },
);

export const GridQuery = Type.Object(
  {
    model: Type.Optional(ModelName),
    classes: Type.Optional(
      Type.String({
        pattern: '^\\d{1,4}(,\\d{1,4}){0,31}$',
        description: 'Comma-separated classes, one row each; default every class.',
      }),
    ),
    n: Type.Integer({ minimum: 1, maximum: 16, default: 8, description: 'Samples per class (columns).' }),
    steps: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
    seed: { ...Seed, default: 0 },
    labels: Type.Boolean({
      default: false,
      description: 'Write each row’s class name in a margin on the left.',
    }),
  },
  { additionalProperties: false },
);

export const GridPng = Type.String({ description: 'image/png', examples: ['(PNG bytes)'] });
