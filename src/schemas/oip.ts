// Open Inference Protocol v2 REST bodies (KServe/Triton), as TypeBox. Used by the /v2 routes and by the
// onnx.batch-infer job, whose requests are OIP infer request bodies.
import { Type } from '@sinclair/typebox';
import { ModelName, ModelVersion } from './common.js';
import { DATATYPES } from './manifest.js';

const Parameters = Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form OIP parameters.' });

export const InferInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    shape: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 16 }),
    datatype: Type.String({ description: `One of ${DATATYPES.join(', ')}.`, maxLength: 16 }),
    parameters: Type.Optional(Parameters),
    data: Type.Optional(
      Type.Array(Type.Unknown(), {
        description:
          'Row-major values, flat or nested to the depth of the shape. Absent when the tensor is sent as binary ' +
          'data (parameters.binary_data_size, Triton binary tensor data extension).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const InferRequestSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 256 })),
    parameters: Type.Optional(Parameters),
    inputs: Type.Array(InferInputSchema, { minItems: 1, maxItems: 64 }),
    outputs: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 256 }), parameters: Type.Optional(Parameters) },
          { additionalProperties: false },
        ),
        { maxItems: 64 },
      ),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { id: 'req-1', inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [0.1, 0.2, -0.5, 0.3] }] },
    ],
  },
);

export const InferResponseSchema = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.String(),
    id: Type.Optional(Type.String()),
    outputs: Type.Array(
      Type.Object({
        name: Type.String(),
        datatype: Type.String(),
        shape: Type.Array(Type.Integer()),
        data: Type.Optional(
          Type.Array(Type.Union([Type.Number(), Type.Boolean()]), {
            description: 'Absent for an output sent as binary data.',
          }),
        ),
        parameters: Type.Optional(
          Type.Object(
            { binary_data_size: Type.Integer({ minimum: 0 }) },
            { description: 'Set for an output sent as binary data after the JSON header.' },
          ),
        ),
      }),
    ),
  },
  {
    examples: [
      {
        model_name: 'spiral-mlp',
        model_version: '1',
        id: 'req-1',
        outputs: [{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] }],
      },
    ],
  },
);

export const ModelParams = Type.Object({ name: ModelName });
export const VersionedParams = Type.Object({ name: ModelName, version: ModelVersion });

export const OipTensor = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
});
export const ModelMetadata = Type.Object(
  {
    name: Type.String(),
    versions: Type.Array(Type.String()),
    platform: Type.String(),
    inputs: Type.Array(OipTensor),
    outputs: Type.Array(OipTensor),
  },
  {
    examples: [
      {
        name: 'spiral-mlp',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
      },
    ],
  },
);
export const ModelReady = Type.Object(
  { name: Type.String(), ready: Type.Boolean() },
  { examples: [{ name: 'spiral-mlp', ready: true }] },
);

export const ServerMetadata = Type.Object(
  { name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) },
  { examples: [{ name: 'meanserve', version: '0.1.0', extensions: ['binary_tensor_data'] }] },
);
export const ServerLive = Type.Object({ live: Type.Boolean() }, { examples: [{ live: true }] });
export const ServerReady = Type.Object({ ready: Type.Boolean() }, { examples: [{ ready: true }] });
