// The model description shared by GET /v1/models and GET /v1/models/{name}.
import { Type } from '@sinclair/typebox';
import { ModelName, ModelVersion } from './common.js';
import { GeneratorSpec, LanguageModelSpec, WorkSpec } from './manifest.js';

const TensorDescription = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer(), { description: '-1 marks a dynamic dimension.' }),
  range: Type.Optional(
    Type.Object(
      { minimum: Type.Number(), maximum: Type.Number() },
      { description: 'Values accepted (inputs only).' },
    ),
  ),
});

export const ModelInfo = Type.Object(
  {
    id: Type.String({ description: 'The name, as OpenAI clients read it (models.list()).' }),
    object: Type.Literal('model'),
    created: Type.Integer({ description: 'When this server registered the model, Unix seconds.' }),
    owned_by: Type.String(),
    name: Type.String(),
    version: Type.String(),
    task: Type.String(),
    description: Type.String(),
    sha256: Type.String(),
    state: Type.Union([
      Type.Literal('loading'),
      Type.Literal('ready'),
      Type.Literal('failed'),
      Type.Literal('unloading'),
    ]),
    reason: Type.Optional(Type.String({ description: 'Why the model failed to load.' })),
    execution_provider: Type.Union([Type.String(), Type.Null()], {
      description: 'Provider holding the session.',
    }),
    provider_fallbacks: Type.Array(Type.String(), {
      description: 'Providers tried first, and why each failed.',
    }),
    max_batch_size: Type.Integer({ description: '0 = not batched; n = micro-batched up to n rows.' }),
    work: {
      ...WorkSpec,
      description:
        'Most work one inference request may ask for: rows (dynamic dimensions of `rows`) × the value of ' +
        '`per_row`, if named; more is a 413, for the onnx.batch-infer job to run instead.',
    },
    pool: Type.String({ description: 'The inference pool (its own threads) the model runs in.' }),
    inputs: Type.Array(TensorDescription),
    outputs: Type.Array(TensorDescription),
    metrics: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Measured quality, from the manifest.',
    }),
    training: Type.Record(Type.String(), Type.Unknown()),
    generator: Type.Optional({
      ...GeneratorSpec,
      description: 'Image generators: class names, steps allowed, guidance and the decoder of their latents.',
    }),
    language_model: Type.Optional({
      ...LanguageModelSpec,
      description:
        'Language models: vocabulary spec, cache layout and, on a teacher, the proxy pairs for antidistillation.',
    }),
  },
  {
    examples: [
      {
        id: 'spiral-mlp',
        object: 'model',
        created: 1796432965,
        owned_by: 'meanserve',
        name: 'spiral-mlp',
        version: '1',
        task: 'classification',
        description: 'A 2-32-32-3 tanh MLP classifying a 3-arm spiral.',
        sha256: '705c0a2b59820d9fa16cbff304dcdc953cabab59c3a0e9d22239bf4c19838f5b',
        state: 'ready',
        execution_provider: 'cpu',
        provider_fallbacks: [],
        max_batch_size: 64,
        work: { max: 64, rows: 'x' },
        pool: 'shared',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
        metrics: { heldout_accuracy: 0.9833 },
        training: { command: 'npm run build:test-models', seed: 0 },
      },
    ],
  },
);

export const ModelList = Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelInfo) });
export const ModelPath = Type.Object({ name: ModelName });
export const ModelVersionQuery = Type.Object(
  { version: Type.Optional(ModelVersion) },
  { additionalProperties: false },
);
