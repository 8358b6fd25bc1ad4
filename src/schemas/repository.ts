// The model repository API: the Open Inference Protocol's repository extension (index, load, unload, as
// Triton and KServe serve them) and the upload of a new version, PUT /v1/models/{name}/versions/{version}.
import { Type } from '@sinclair/typebox';
import { ModelName } from './common.js';
import { TensorSpec, WorkSpec } from './manifest.js';

/** A version that names a directory: no '.' or '..'. */
export const RepositoryVersion = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
});

export const RepositoryModelParams = Type.Object({ name: ModelName });
export const UploadParams = Type.Object({ name: ModelName, version: RepositoryVersion });

export const UploadBody = Type.Object(
  {
    model: Type.String({ description: 'The ONNX file, base64 (at most MODEL_UPLOAD_LIMIT_BYTES decoded).' }),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'sha256 of the file, checked on arrival.',
    }),
    max_batch_size: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4096,
        description:
          '0 (default): not batched; n: requests are micro-batched up to n rows (first dimension dynamic).',
      }),
    ),
    task: Type.Optional(Type.String({ maxLength: 128, description: "Default 'custom'." })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    work: Type.Optional(
      Type.Object(
        {
          max: Type.Integer({ minimum: 1, description: 'Most rows × per-row cost one request may ask.' }),
          rows: Type.Optional(
            Type.String({ description: 'The input whose dynamic dimensions count rows; default the first.' }),
          ),
          per_row: Type.Optional(
            Type.String({ description: 'A one-element input with a range whose value each row costs.' }),
          ),
        },
        { additionalProperties: false, description: 'Default: 65 536 rows of the first input.' },
      ),
    ),
    ranges: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({ minimum: Type.Number(), maximum: Type.Number() }, { additionalProperties: false }),
        { description: 'Per input name: values outside [minimum, maximum] are refused at inference.' },
      ),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        model: 'CAgSB3B5dG9yY2gaBTIuMS4wOq0B…',
        sha256: '705c0a2b59820d9fa16cbff304dcdc953cabab59c3a0e9d22239bf4c19838f5b',
        max_batch_size: 8,
        description: 'my classifier',
      },
    ],
  },
);

export const UploadResponse = Type.Object({
  name: Type.String(),
  version: Type.String(),
  sha256: Type.String(),
  task: Type.String(),
  max_batch_size: Type.Integer(),
  inputs: Type.Array(TensorSpec, { description: 'Read from the graph.' }),
  outputs: Type.Array(TensorSpec, { description: 'Read from the graph.' }),
  work: WorkSpec,
  created: Type.Boolean({ description: 'false when the same file was already stored under this version.' }),
});

export const IndexRequest = Type.Object(
  { ready: Type.Optional(Type.Boolean({ description: 'true: only models ready for inference.' })) },
  // May be left out entirely, as Triton's clients do (marked for the OpenAPI document, openapi-document.ts).
  { additionalProperties: false, examples: [{ ready: false }], 'x-optional-body': true },
);

export const IndexResponse = Type.Array(
  Type.Object({
    name: Type.String(),
    version: Type.String(),
    state: Type.Union(['READY', 'LOADING', 'UNLOADING', 'UNAVAILABLE'].map((state) => Type.Literal(state))),
    reason: Type.Optional(Type.String()),
  }),
  {
    examples: [
      [
        { name: 'my-model', version: '1', state: 'UNAVAILABLE', reason: 'not loaded' },
        { name: 'my-model', version: '2', state: 'READY' },
      ],
    ],
  },
);

export const LoadRequest = Type.Object(
  {
    parameters: Type.Optional(
      Type.Object(
        {
          version: Type.Optional(
            Type.String({
              description: 'meanserve: load or unload this version only (default: every version).',
            }),
          ),
          unload_dependents: Type.Optional(
            Type.Boolean({ description: 'Accepted; uploaded models have no dependents.' }),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: false, examples: [{ parameters: { version: '2' } }], 'x-optional-body': true },
);

export const Empty = Type.Object({}, { additionalProperties: false });
