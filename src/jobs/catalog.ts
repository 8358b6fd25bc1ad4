// Every job type: its params schema (validated at submit time and again in the worker), a description,
// checks that need the served models, and where its processor lives (loaded lazily inside the job thread).
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { decodeInferRequest } from '../models/infer-request.js';
import type { ManifestEntry } from '../models/manifest.js';
import { checkGenerateRequest, DEFAULT_GENERATOR, generatorOf } from '../models/meanflow.js';
import { ModelName, ModelVersion } from '../routes/schemas/common.js';
import { InferRequestSchema } from '../routes/schemas/oip.js';
import type { Processor } from './processor.js';

/** Finds a served model; throws NotFoundError naming what is missing. */
export type ModelLookup = (name: string, version?: string) => ManifestEntry;

export interface JobType {
  type: string;
  summary: string;
  params: TSchema;
  /** Checks that need the served models; throws an AppError whose field paths start at /body/params. */
  check?: (params: never, models: ModelLookup) => void;
  load: () => Promise<Processor>;
}

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

const batchInfer: JobType = {
  type: 'onnx.batch-infer',
  summary:
    'Runs a registered ONNX model over a list of Open Inference Protocol requests; the responses are the ' +
    'artifact responses.json (and the result, when small).',
  params: BatchInferParams,
  check: (params: BatchInferParams, models) => {
    const entry = models(params.model, params.version);
    params.requests.forEach((request, index) => {
      decodeInferRequest(entry, request, `/body/params/requests/${index}`);
    });
  },
  load: async () => (await import('./processors/onnx-batch-infer.js')).batchInfer,
};

export const MeanflowGenerateParams = Type.Object(
  {
    model: Type.Optional({ ...ModelName, description: `A generator model; default ${DEFAULT_GENERATOR}.` }),
    n: Type.Integer({ minimum: 1, maximum: 50_000 }),
    classes: Type.Optional(
      Type.Union([
        Type.Integer({ minimum: 0, maximum: 1023 }),
        Type.Array(Type.Integer({ minimum: 0, maximum: 1023 }), { minItems: 1, maxItems: 50_000 }),
      ]),
    ),
    steps: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  },
  { additionalProperties: false, examples: [{ n: 10_000, steps: 1 }] },
);
export type MeanflowGenerateParams = Static<typeof MeanflowGenerateParams>;

const meanflowGenerate: JobType = {
  type: 'meanflow.generate',
  summary:
    'Generates up to 50 000 images with a generator model; artifacts samples.npy (uint8 n×28×28), ' +
    'classes.npy (int64) and contact-sheet.png (the first 100).',
  params: MeanflowGenerateParams,
  check: (params: MeanflowGenerateParams, models) => {
    const spec = generatorOf(models(params.model ?? DEFAULT_GENERATOR));
    checkGenerateRequest(spec, { ...params, seed: 0 }, '/body/params');
    models(spec.decoder);
  },
  load: async () => (await import('./processors/meanflow-generate.js')).meanflowGenerate,
};

export const JOB_TYPES: readonly JobType[] = [batchInfer, meanflowGenerate];

export function findJobType(type: string): JobType | undefined {
  return JOB_TYPES.find((jobType) => jobType.type === type);
}
