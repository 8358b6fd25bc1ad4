// feat.free-energy params: a system from the catalog, a transport (none, analytic, learned ONNX model),
// path counts, integration steps, the thermostat ε, bootstrap resamples, MCMC settings for end states
// without an exact sampler, and the classical baselines. What the schema cannot express is checked here and
// refused with 400 naming the field.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../errors.js';
import { TaggedUnion } from '../../lib/tagged-union.js';
import { ModelName, ModelVersion } from '../../schemas/common.js';
import type { ManifestEntry, ModelLookup } from '../../schemas/manifest.js';
import {
  createSystem,
  resolvedSystem,
  type SystemParams,
  SystemSchema,
  systemErrors,
} from './systems/index.js';

/** (N_F + N_R)(K + 1)·d: path work, about a minute of CPU at the measured rates (docs/benchmarks.md). */
export const MAX_PATH_WORK = 2e9;
/** The analytic transport inverts a d × d matrix per time step. */
export const MAX_ANALYTIC_DIM = 128;
export const TRANSPORT_TASK = 'free-energy-transport';

const TransportSchema = TaggedUnion(
  'kind',
  [
    Type.Object(
      {
        kind: Type.Literal('none', {
          description: 'b = 0, s = −∇U_t on the linear path: plain Jarzynski/AIS.',
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        kind: Type.Literal('analytic', {
          description: 'The exact interpolant transport; Gaussian end states.',
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        kind: Type.Literal('learned', {
          description: 'An ONNX model (t [N], x [N, d]) → (b, s) from the registry.',
        }),
        model: ModelName,
        version: Type.Optional(ModelVersion),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'Where b_t and s_t come from.' },
);

export const FeatParams = Type.Object(
  {
    system: SystemSchema,
    transport: TransportSchema,
    n_forward: Type.Integer({ minimum: 2, maximum: 20_000, default: 1000, description: 'Paths from ρ_a.' }),
    n_reverse: Type.Integer({ minimum: 2, maximum: 20_000, default: 1000, description: 'Paths from ρ_b.' }),
    steps: Type.Integer({ minimum: 1, maximum: 2000, default: 100, description: 'K Euler–Maruyama steps.' }),
    eps: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 0.01, description: 'Thermostat ε.' }),
    bootstrap: Type.Integer({
      minimum: 10,
      maximum: 2000,
      default: 200,
      description: 'Bootstrap resamples.',
    }),
    histogram_bins: Type.Integer({ minimum: 5, maximum: 200, default: 40 }),
    mcmc: Type.Optional(
      Type.Object(
        {
          steps: Type.Integer({ minimum: 10, maximum: 20_000, default: 1000 }),
          step_size: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.01 }),
        },
        {
          additionalProperties: false,
          description:
            'End states without an exact sampler: one MALA chain per sample from the state’s start, τ adapted ' +
            'towards 57.4 % acceptance in the first half of the steps, the final state kept.',
        },
      ),
    ),
    baselines: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({ default: true }),
          budget: Type.Union([Type.Literal('samples'), Type.Literal('evaluations')], {
            default: 'samples',
            description:
              'FEP and equilibrium BAR use the same end samples as FEAT (samples), or N·(K + 1) per side, at ' +
              'most 200 000 (evaluations). AIS always runs the same N and K; TI the same number of evaluations.',
          }),
          ti_windows: Type.Integer({ minimum: 2, maximum: 32, default: 10 }),
          step_size: Type.Number({
            exclusiveMinimum: 0,
            maximum: 10,
            default: 0.01,
            description: 'Initial MALA τ of AIS and TI (adapted).',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        system: {
          name: 'gaussian',
          dim: 2,
          a: { mean: [0, 0] },
          b: {
            mean: [3, -1],
            covariance: [
              [0.25, 0],
              [0, 0.5],
            ],
            offset: 1,
          },
        },
        transport: { kind: 'analytic' },
        n_forward: 1000,
        n_reverse: 1000,
        steps: 100,
        eps: 0.01,
      },
      { system: { name: 'gmm' }, transport: { kind: 'learned', model: 'feat-gmm' } },
    ],
  },
);
export type FeatParams = Static<typeof FeatParams> & { system: SystemParams };

/** Every setting with its default, as the processor uses them. */
export function resolveFeatParams(params: FeatParams) {
  return {
    n_forward: params.n_forward ?? 1000,
    n_reverse: params.n_reverse ?? 1000,
    steps: params.steps ?? 100,
    eps: params.eps ?? 0.01,
    bootstrap: params.bootstrap ?? 200,
    histogram_bins: params.histogram_bins ?? 40,
    mcmc: { steps: params.mcmc?.steps ?? 1000, step_size: params.mcmc?.step_size ?? 0.01 },
    baselines: {
      enabled: params.baselines?.enabled ?? true,
      budget: params.baselines?.budget ?? 'samples',
      ti_windows: params.baselines?.ti_windows ?? 10,
      step_size: params.baselines?.step_size ?? 0.01,
    },
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
          )
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The transport model's manifest entry, checked against the system; throws 400 naming the field. */
export function checkTransportModel(entry: ManifestEntry, system: SystemParams, dim: number): void {
  const path = '/body/params/transport/model';
  const x = entry.inputs.find((input) => input.name === 'x');
  const ok =
    entry.task === TRANSPORT_TASK && x !== undefined && entry.inputs.some((input) => input.name === 't');
  if (!ok)
    throwFieldErrors([{ path, message: `${entry.name} is not a FEAT transport (task ${TRANSPORT_TASK})` }]);
  const modelDim = x?.shape[1];
  if (modelDim !== dim) {
    throwFieldErrors([
      { path, message: `${entry.name} takes x of dimension ${modelDim}; the system has dimension ${dim}` },
    ]);
  }
  const trainedOn = (entry.training as { system?: unknown }).system;
  if (!sameJson(trainedOn, resolvedSystem(system))) {
    throwFieldErrors([
      {
        path: '/body/params/system',
        message: `${entry.name} was trained on ${JSON.stringify(trainedOn)}, not on this system`,
      },
    ]);
  }
}

/** Checks at submit; returns nothing (the params go to the job as sent, with ajv's defaults). */
export function checkFeatParams(params: FeatParams, models: ModelLookup): void {
  throwFieldErrors(systemErrors(params.system, '/body/params/system'));
  const pair = createSystem(params.system);
  const settings = resolveFeatParams(params);
  const errors: FieldError[] = [];
  const transport = params.transport;
  if (transport.kind === 'analytic') {
    if (pair.a.gaussian === undefined || pair.b.gaussian === undefined) {
      errors.push({
        path: '/body/params/transport/kind',
        message: `analytic needs Gaussian end states; ${pair.name} has none`,
      });
    } else if (pair.dim > MAX_ANALYTIC_DIM) {
      errors.push({
        path: '/body/params/transport/kind',
        message: `analytic is limited to d ≤ ${MAX_ANALYTIC_DIM}`,
      });
    }
  }
  if (transport.kind === 'learned') {
    let entry: ManifestEntry;
    try {
      entry = models(transport.model, transport.version);
    } catch {
      throwFieldErrors([
        { path: '/body/params/transport/model', message: `model ${transport.model} is not served` },
      ]);
      return;
    }
    checkTransportModel(entry, params.system, pair.dim);
  }
  const work = (settings.n_forward + settings.n_reverse) * (settings.steps + 1) * pair.dim;
  if (work > MAX_PATH_WORK) {
    errors.push({
      path: '/body/params/steps',
      message: `(n_forward + n_reverse)(steps + 1)·d = ${work} is over the limit of ${MAX_PATH_WORK}`,
    });
  }
  const sampled = [pair.a, pair.b].filter((state) => state.sample === undefined).length;
  const mcmcWork =
    sampled * Math.max(settings.n_forward, settings.n_reverse) * settings.mcmc.steps * pair.dim;
  if (mcmcWork > MAX_PATH_WORK) {
    errors.push({
      path: '/body/params/mcmc/steps',
      message: `MCMC work chains × steps × d = ${mcmcWork} is over the limit of ${MAX_PATH_WORK}`,
    });
  }
  throwFieldErrors(errors);
}
