// The onnx.batch-infer job type: one registered model over many Open Inference Protocol requests, checked
// at submit exactly as POST /v2/models/{name}/infer checks one (but not held to the model's per-request
// work limit: this job is where larger work goes).
import { type Static, Type } from '@sinclair/typebox';
import { decodeInferRequest } from '../../models/infer-request.js';
import { ModelName, ModelVersion } from '../../schemas/common.js';
import { InferRequestSchema } from '../../schemas/oip.js';
import type { JobSpec } from '../job-type.js';

export const BatchInferParams = Type.Object(
  {
    model: ModelName,
    version: Type.Optional(ModelVersion),
    requests: Type.Array(InferRequestSchema, { minItems: 1, maxItems: 10_000 }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        model: 'spiral-mlp',
        requests: [{ id: 'a', inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.3, -0.7] }] }],
      },
    ],
  },
);
export type BatchInferParams = Static<typeof BatchInferParams>;

export const batchInferJob: JobSpec<typeof BatchInferParams> = {
  type: 'onnx.batch-infer',
  summary:
    'Runs a registered ONNX model over a list of Open Inference Protocol requests; the responses are the ' +
    'artifact responses.json (and the result, when small).',
  params: BatchInferParams,
  check: (params, { models }) => {
    const entry = models(params.model, params.version);
    params.requests.forEach((request, index) => {
      decodeInferRequest(entry, request, `/body/params/requests/${index}`);
    });
  },
};
