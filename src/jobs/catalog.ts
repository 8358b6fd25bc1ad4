// Every job type: its params schema (validated at submit time and again in the worker), a description,
// checks that need the served models, and where its processor lives (loaded lazily inside the job thread).
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { UnprocessableError } from '../errors.js';
import { decodeInferRequest } from '../models/infer-request.js';
import type { ModelLookup } from '../models/lm/language-models.js';
import { checkTracesParams, TracesParams } from '../models/lm/traces.js';
import { checkGenerateRequest, DEFAULT_GENERATOR, generatorOf } from '../models/meanflow.js';
import type { CollectionConfig } from '../retrieval/collections/collection.js';
import { ModelName, ModelVersion } from '../schemas/common.js';
import { InferRequestSchema } from '../schemas/oip.js';
import { CollectionName } from '../schemas/retrieval.js';
import { checkFeatParams, FeatParams } from '../solvers/feat/params.js';
import { checkMfgFiniteParams, MfgFiniteParams } from '../solvers/mfg/finite/params.js';
import { checkMfgGraphexParams, MfgGraphexParams } from '../solvers/mfg/graphex/params.js';
import { checkMfgPmaParams, MfgPmaParams } from '../solvers/mfg/stationary/params.js';
import {
  MinimaxMflParams,
  MinimaxTwoScaleParams,
  resolveMflParams,
  resolveTwoScaleParams,
} from '../solvers/minimax/params.js';
import { INDEX_JOB_TYPE } from './index-job-applier.js';
import type { Processor } from './processor.js';

export type { ModelLookup };

/** Finds a collection of the API process; throws NotFoundError when there is none. */
export type CollectionLookup = (name: string) => CollectionConfig;

export interface JobType {
  type: string;
  summary: string;
  params: TSchema;
  /**
   * Checks that need the served models or collections; throws an AppError whose field paths start at
   * /body/params. May return the params completed with what it looked up (they are what the job gets).
   */
  check?: (params: never, models: ModelLookup, collections: CollectionLookup, modelsDir: string) => unknown;
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

export const CollectionsIndexParams = Type.Object(
  {
    collection: CollectionName,
    source: Type.Object(
      {
        split: Type.Union([Type.Literal('train'), Type.Literal('test'), Type.Literal('demo')], {
          description:
            "Fashion-MNIST split: train (60 000) or test (10 000) from Debian's dataset-fashion-mnist " +
            '(FASHION_MNIST_DIR), or demo: the first 2 000 test images, shipped with the models.',
        }),
        offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 59_999, description: 'First image.' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, description: 'Images to index.' })),
      },
      { additionalProperties: false },
    ),
    id_prefix: Type.Optional(
      Type.String({ maxLength: 64, description: 'Point ids are <prefix><image index>; default "<split>-".' }),
    ),
    model: Type.Optional(
      Type.Object(
        { name: ModelName, version: ModelVersion },
        {
          additionalProperties: false,
          description: "Filled in at submit with the collection's model; when given it must be that model.",
        },
      ),
    ),
  },
  { additionalProperties: false, examples: [{ collection: 'fashion-mnist', source: { split: 'test' } }] },
);
export type CollectionsIndexParams = Static<typeof CollectionsIndexParams>;

const collectionsIndex: JobType = {
  type: INDEX_JOB_TYPE,
  summary:
    "Embeds Fashion-MNIST images with the collection's model and upserts them (payload: label, class_name, " +
    'split, index); the points appear in the collection moments after the job completes.',
  params: CollectionsIndexParams,
  check: (params: CollectionsIndexParams, _models, collections) => {
    const config = collections(params.collection);
    if (config.model === undefined) {
      throw new UnprocessableError(
        `collection '${params.collection}' has no embedding model to embed images with`,
        [{ path: '/body/params/collection', message: 'the collection takes vectors only' }],
      );
    }
    const model = { name: config.model.name, version: config.model.version };
    if (
      params.model !== undefined &&
      (params.model.name !== model.name || params.model.version !== model.version)
    ) {
      throw new UnprocessableError(
        `collection '${params.collection}' embeds with ${model.name}@${model.version}`,
        [{ path: '/body/params/model', message: "must be the collection's model" }],
      );
    }
    return { ...params, model };
  },
  load: async () => (await import('./processors/collections-index.js')).collectionsIndex,
};

const antidistillTraces: JobType = {
  type: 'antidistill.traces',
  summary:
    'Samples completions of many prompts (given, or arithmetic problems drawn from a split) with the ' +
    'completions sampler, antidistillation included; artifact traces.jsonl, graded when the problems are drawn.',
  params: TracesParams,
  check: (params: TracesParams, models, _collections, modelsDir) =>
    checkTracesParams(params, models, modelsDir),
  load: async () => (await import('./processors/antidistill-traces.js')).antidistillTraces,
};

const mfgFinite: JobType = {
  type: 'mfg.finite',
  summary:
    'Solves a finite-horizon mean-field game (MFGLib convention; crowd_modelling also in OpenSpiel-compatible ' +
    'mode) with OMD, fictitious play, prior descent, fixed point or Boltzmann policy iteration; exploitability ' +
    'after every iteration, final policy and mean field (artifact solution.json).',
  params: MfgFiniteParams,
  check: (params: MfgFiniteParams) => checkMfgFiniteParams(params),
  load: async () => (await import('./processors/mfg-finite.js')).mfgFinite,
};

const mfgGraphex: JobType = {
  type: 'mfg.graphex',
  summary:
    'Mean-field game on a sparse graph (Fabian, Cui, Koeppl, ICLR 2024): a sampled separable power-law graphex ' +
    'or an uploaded edge list, split into a core (mirror descent over label classes) and a periphery ' +
    '(backward induction per degree); games sis, sir, rumor. Core and per-degree periphery exploitability per ' +
    'iteration, then Δμ between the predicted and the simulated mean field on the graph (artifact solution.json).',
  params: MfgGraphexParams,
  check: (params: MfgGraphexParams) => checkMfgGraphexParams(params),
  load: async () => (await import('./processors/mfg-graphex.js')).mfgGraphex,
};

const mfgPma: JobType = {
  type: 'mfg.pma',
  summary:
    'Policy Mirror Ascent (Yardim et al. 2023) on a stationary, discounted, entropy-regularised mean-field ' +
    'game (susceptible_infected, beach_bar): exact mode with the exploitability and fitted linear rate per ' +
    'iteration, or N independent agents on one sample path learning their Q by TD, with the mean ' +
    "policy's exploitability, the agents' spread and the samples used per epoch (artifact solution.json).",
  params: MfgPmaParams,
  check: (params: MfgPmaParams) => checkMfgPmaParams(params),
  load: async () => (await import('./processors/mfg-pma.js')).mfgPma,
};

const minimaxMfl: JobType = {
  type: 'minimax.mfl',
  summary:
    'Distributional minimax min_μ max_ν ∫∫Q dμ dν + λKL(μ|ρ) − λKL(ν|ρ) with N particles: mean-field Langevin ' +
    'MFL-DA, MFL-AG (averaged, Kim et al. 2024) or MFL-ABR (anchored best response); NI error on a grid, ' +
    'the three-point proxy, W1 to the grid equilibrium the job solves, histograms (artifact minimax.json).',
  params: MinimaxMflParams,
  check: (params: MinimaxMflParams) => {
    resolveMflParams(params);
  },
  load: async () => (await import('./processors/minimax-mfl.js')).minimaxMfl,
};

const minimaxTwoScaleGda: JobType = {
  type: 'minimax.two-scale-gda',
  summary:
    'Two-scale mean-field gradient descent–ascent (Lu 2023) on the torus with entropy regularisation at a ' +
    'fixed temperature τ or annealed τ_t = C/log(t + e); NI at τ and unregularised, circle W1 to the grid ' +
    'equilibrium, fitted exponential rate (artifact minimax.json).',
  params: MinimaxTwoScaleParams,
  check: (params: MinimaxTwoScaleParams) => {
    resolveTwoScaleParams(params);
  },
  load: async () => (await import('./processors/minimax-two-scale-gda.js')).minimaxTwoScaleGda,
};

const featFreeEnergy: JobType = {
  type: 'feat.free-energy',
  summary:
    'Free-energy difference ΔF = −log(Z_b/Z_a) by FEAT (He et al. 2025): escorted Jarzynski forward and reverse, ' +
    'BAR / controlled Crooks and the variational bounds from forward–backward path weights, with a transport ' +
    'that is none (AIS), analytic (Gaussians) or a learned ONNX model; bootstrap CIs, ESS, work histograms, and ' +
    'FEP, equilibrium BAR, AIS and TI baselines (artifact feat.json).',
  params: FeatParams,
  check: (params: FeatParams, models) => checkFeatParams(params, models),
  load: async () => (await import('./processors/feat-free-energy.js')).featFreeEnergy,
};

export const JOB_TYPES: readonly JobType[] = [
  batchInfer,
  meanflowGenerate,
  collectionsIndex,
  antidistillTraces,
  mfgFinite,
  mfgGraphex,
  mfgPma,
  minimaxMfl,
  minimaxTwoScaleGda,
  featFreeEnergy,
];

export function findJobType(type: string): JobType | undefined {
  return JOB_TYPES.find((jobType) => jobType.type === type);
}

/** The job type names, for the queue backends (which know no more of a job type than its name). */
export const JOB_TYPE_NAMES: readonly string[] = JOB_TYPES.map(({ type }) => type);
