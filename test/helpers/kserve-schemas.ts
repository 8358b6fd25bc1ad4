// The Open Inference Protocol's response bodies as JSON Schema, transcribed member by member from KServe's
// REST spec (kserve/kserve, docs/predict-api/v2/rest_predict_v2.yaml: metadata_server_response,
// metadata_model_response, metadata_tensor, inference_response, response_output, tensor_data and the
// *_error_response objects), so tests can check our bodies against what KServe and Triton clients expect.
import { Ajv } from 'ajv';

const tensorData = {
  $id: 'tensor_data',
  type: 'array',
  items: { anyOf: [{ $ref: 'tensor_data' }, { type: 'number' }, { type: 'string' }, { type: 'boolean' }] },
};
const metadataTensor = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
  },
};

export const KSERVE = {
  serverMetadata: {
    type: 'object',
    required: ['name', 'version', 'extensions'],
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      extensions: { type: 'array', items: { type: 'string' } },
    },
  },
  modelMetadata: {
    type: 'object',
    required: ['name', 'platform'],
    properties: {
      name: { type: 'string' },
      versions: { type: 'array', items: { type: 'string' } },
      platform: { type: 'string' },
      inputs: { type: 'array', items: metadataTensor },
      outputs: { type: 'array', items: metadataTensor },
    },
  },
  inferenceResponse: {
    type: 'object',
    required: ['model_name', 'outputs'],
    properties: {
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      id: { type: 'string' },
      parameters: { type: 'object' },
      outputs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'shape', 'datatype', 'data'],
          properties: {
            name: { type: 'string' },
            shape: { type: 'array', items: { type: 'integer' } },
            datatype: { type: 'string' },
            parameters: { type: 'object' },
            data: { $ref: 'tensor_data' },
          },
        },
      },
    },
  },
  errorResponse: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string' } },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(tensorData);

/** Throws naming every way `body` breaks the KServe schema `name`. */
export function assertKserve(name: keyof typeof KSERVE, body: unknown): void {
  const validate = ajv.compile(KSERVE[name]);
  if (!validate(body)) {
    throw new Error(`not a KServe ${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  }
}
