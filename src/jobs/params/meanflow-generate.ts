// The meanflow.generate job type: many images from a generator model, checked at submit as
// POST /v1/meanflow/samples checks a request.
import { type Static, Type } from '@sinclair/typebox';
import { checkGenerateRequest, generatorOf } from '../../models/meanflow.js';
import { ModelName } from '../../schemas/common.js';
import { DEFAULT_GENERATOR } from '../../schemas/meanflow.js';
import type { JobSpec } from '../job-type.js';

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

export const meanflowGenerateJob: JobSpec<typeof MeanflowGenerateParams> = {
  type: 'meanflow.generate',
  summary:
    'Generates up to 50 000 images with a generator model; artifacts samples.npy (uint8 n×28×28), ' +
    'classes.npy (int64) and contact-sheet.png (the first 100).',
  params: MeanflowGenerateParams,
  check: (params, { models }) => {
    const spec = generatorOf(models(params.model ?? DEFAULT_GENERATOR));
    checkGenerateRequest(spec, { ...params, seed: 0 }, '/body/params');
    models(spec.decoder);
  },
};
