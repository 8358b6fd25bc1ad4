// Params of minimax.mfl and minimax.two-scale-gda: schemas (the single source of validation, types and
// OpenAPI), the checks the schemas cannot express — the stability rule for h, the work limit, shapes of a
// features objective, grid and bins that fit together — each throwing 400 with the field path, and the
// defaults resolved once so the processors and the submit check see the same settings.
//
// Stability rule (documented in docs/minimax.md): the explicit Euler step of z ↦ −∇V(z) − κz is a
// contraction-safe step when s·(Lip(∇V) + κ) ≤ 1, with Lip bounded by gradientLipschitz(objective). MFL:
// h·(Lip + λ/σ²_min) ≤ 1; two-scale GDA: h·max(1, η)·Lip ≤ 1 (the faster player takes ηh).
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../errors.js';
import { TaggedUnion } from '../../lib/tagged-union.js';
import type { MflAlgorithm } from './mfl.js';
import { ObjectiveSchema, objectiveDimension, objectiveErrors } from './objective-params.js';
import { createObjective, gradientLipschitz, type ObjectiveParams } from './objectives.js';

/** Particles × steps of one job: about half a minute of CPU at the measured rate. */
export const MAX_PARTICLE_STEPS = 1e8;
export const MAX_REPORTS = 1000;
const MAX_CELLS_2D = 160;

export const Particles = Type.Integer({
  minimum: 1,
  maximum: 20_000,
  default: 2000,
  description: 'N per player.',
});
const Steps = Type.Integer({ minimum: 1, maximum: 200_000, default: 2000, description: 'Langevin steps.' });
export const ReportEvery = Type.Integer({
  minimum: 1,
  maximum: 200_000,
  default: 100,
  description: 'Score the measures every this many steps (and after the last).',
});

export const GridSchema = (cells1d: number, bins1d: number, box: boolean) =>
  Type.Object(
    {
      cells: Type.Optional(
        Type.Integer({
          minimum: 4,
          maximum: 4800,
          description: `Cells per axis (default ${cells1d} in 1-D, ${box ? 80 : 64} in 2-D; ≤ ${MAX_CELLS_2D} in 2-D).`,
        }),
      ),
      bins: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 4800,
          description: `Histogram bins per axis for the particle densities; must divide cells (default ${bins1d} in 1-D, 16 in 2-D).`,
        }),
      ),
      ...(box
        ? {
            half_width: Type.Optional(
              Type.Number({ minimum: 1, maximum: 50, description: 'The box is [−w, w]^d (default 6).' }),
            ),
          }
        : {}),
    },
    { additionalProperties: false, description: 'The grid of the ground truth and the NI error.' },
  );

export const AlgorithmSchema = TaggedUnion(
  'name',
  [
    Type.Object(
      { name: Type.Literal('mfl-da') },
      { additionalProperties: false, description: 'Mean-field Langevin descent–ascent.' },
    ),
    Type.Object(
      {
        name: Type.Literal('mfl-ag'),
        r: Type.Optional(
          Type.Number({ minimum: 0, maximum: 10, description: 'Averaging weights β_t = t^r (default 1).' }),
        ),
      },
      {
        additionalProperties: false,
        description: 'Averaged gradient: drift and output averaged over the past.',
      },
    ),
    Type.Object(
      {
        name: Type.Literal('mfl-abr'),
        inner: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: 10_000,
            description: 'Inner Langevin steps per outer iteration (default 50).',
          }),
        ),
        beta: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 1,
            description: 'Mixing weight β of the best response (default 0.25).',
          }),
        ),
      },
      { additionalProperties: false, description: 'Anchored best response (double loop).' },
    ),
  ],
  { description: 'The MFL algorithm.' },
);

export const MinimaxMflParams = Type.Object(
  {
    objective: ObjectiveSchema,
    algorithm: AlgorithmSchema,
    lambda: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100,
      default: 0.1,
      description: 'λ, the KL weight.',
    }),
    reference_std: Type.Optional(
      Type.Object(
        {
          min_player: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'σ of ρ^μ (default 1).' }),
          ),
          max_player: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'σ of ρ^ν (default 1).' }),
          ),
        },
        { additionalProperties: false, description: 'The Gaussian references N(0, σ²I).' },
      ),
    ),
    particles: Particles,
    h: Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.05,
      description: 'Step h (stability rule: h·(Lip + λ/σ²) ≤ 1).',
    }),
    steps: Steps,
    report_every: ReportEvery,
    grid: Type.Optional(GridSchema(1200, 48, true)),
  },
  {
    additionalProperties: false,
    examples: [
      { objective: { name: 'mm1d' }, algorithm: { name: 'mfl-da' }, particles: 2000, steps: 4000, h: 0.05 },
    ],
  },
);
export type MinimaxMflParams = Static<typeof MinimaxMflParams> & { objective: ObjectiveParams };

export const MinimaxTwoScaleParams = Type.Object(
  {
    objective: ObjectiveSchema,
    tau: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 100,
        description: 'Fixed temperature τ (give tau or annealing).',
      }),
    ),
    annealing: Type.Optional(
      Type.Object(
        {
          constant: Type.Number({
            exclusiveMinimum: 0,
            maximum: 100,
            description: 'C in τ_t = C / log(t + e), t = step·h.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    eta: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1000,
      default: 4,
      description: 'Scale ratio η: the max player steps ηh.',
    }),
    particles: Particles,
    h: Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.02,
      description: 'Step h (stability rule: h·max(1, η)·Lip ≤ 1).',
    }),
    steps: Steps,
    report_every: ReportEvery,
    grid: Type.Optional(GridSchema(512, 32, false)),
  },
  {
    additionalProperties: false,
    examples: [{ objective: { name: 'mm1d' }, tau: 0.1, eta: 4, h: 0.02, particles: 2000, steps: 4000 }],
  },
);
export type MinimaxTwoScaleParams = Static<typeof MinimaxTwoScaleParams> & { objective: ObjectiveParams };

export interface ResolvedGrid {
  cells: number;
  bins: number;
  half_width: number;
}

const P = '/body/params';

export function resolveGrid(
  grid: { cells?: number; bins?: number; half_width?: number } | undefined,
  dimension: number,
  defaults: { cells: [number, number]; bins: [number, number] },
  errors: FieldError[],
): ResolvedGrid {
  const cells = grid?.cells ?? (dimension === 1 ? defaults.cells[0] : defaults.cells[1]);
  const bins = grid?.bins ?? (dimension === 1 ? defaults.bins[0] : defaults.bins[1]);
  if (dimension === 2 && cells > MAX_CELLS_2D)
    errors.push({ path: `${P}/grid/cells`, message: `must be at most ${MAX_CELLS_2D} in two dimensions` });
  if (cells % bins !== 0)
    errors.push({ path: `${P}/grid/bins`, message: `must divide grid.cells (${cells})` });
  return { cells, bins, half_width: grid?.half_width ?? 6 };
}

function workErrors(
  params: { particles: number; steps: number; report_every: number },
  errors: FieldError[],
) {
  if (params.particles * params.steps > MAX_PARTICLE_STEPS) {
    errors.push({
      path: `${P}/steps`,
      message: `${params.particles} particles × ${params.steps} steps is over the limit of ${MAX_PARTICLE_STEPS} particle-steps; use at most ${Math.floor(MAX_PARTICLE_STEPS / params.particles)} steps`,
    });
  }
  if (Math.ceil(params.steps / params.report_every) > MAX_REPORTS) {
    errors.push({
      path: `${P}/report_every`,
      message: `gives more than ${MAX_REPORTS} reports; use at least ${Math.ceil(params.steps / MAX_REPORTS)}`,
    });
  }
}

/** The algorithm with its defaults: r = 1 (MFL-AG), inner = 50 and β = 0.25 (MFL-ABR). */
export function resolveAlgorithm(algorithm: Static<typeof AlgorithmSchema>): MflAlgorithm {
  const raw = algorithm as { name: string; r?: number; inner?: number; beta?: number };
  return raw.name === 'mfl-ag'
    ? { name: 'mfl-ag', r: raw.r ?? 1 }
    : raw.name === 'mfl-abr'
      ? { name: 'mfl-abr', inner: raw.inner ?? 50, beta: raw.beta ?? 0.25 }
      : { name: 'mfl-da' };
}

export interface ResolvedMflParams {
  objective: ObjectiveParams;
  algorithm: MflAlgorithm;
  lambda: number;
  reference_std: { min_player: number; max_player: number };
  particles: number;
  h: number;
  steps: number;
  report_every: number;
  grid: ResolvedGrid;
}

/** Checks minimax.mfl params and returns them with every default filled in; throws 400 with field paths. */
export function resolveMflParams(params: MinimaxMflParams): ResolvedMflParams {
  const errors = objectiveErrors(params.objective, false);
  throwFieldErrors(errors);
  const dimension = objectiveDimension(params.objective);
  const grid = resolveGrid(params.grid, dimension, { cells: [1200, 80], bins: [48, 16] }, errors);
  workErrors(params, errors);
  const reference_std = {
    min_player: params.reference_std?.min_player ?? 1,
    max_player: params.reference_std?.max_player ?? 1,
  };
  const lipschitz = gradientLipschitz(createObjective(params.objective));
  const stiffness =
    lipschitz + params.lambda / Math.min(reference_std.min_player, reference_std.max_player) ** 2;
  if (params.h * stiffness > 1) {
    errors.push({
      path: `${P}/h`,
      message: `is unstable: h·(Lip + λ/σ²) = ${(params.h * stiffness).toPrecision(3)} > 1 (Lip = ${lipschitz}); use h ≤ ${(1 / stiffness).toPrecision(3)}`,
    });
  }
  const algorithm = resolveAlgorithm(params.algorithm);
  if (algorithm.name === 'mfl-abr' && algorithm.inner > params.steps)
    errors.push({ path: `${P}/algorithm/inner`, message: `must be at most steps (${params.steps})` });
  throwFieldErrors(errors);
  return {
    objective: params.objective,
    algorithm,
    lambda: params.lambda,
    reference_std,
    particles: params.particles,
    h: params.h,
    steps: params.steps,
    report_every: params.report_every,
    grid,
  };
}

export interface ResolvedTwoScaleParams {
  objective: ObjectiveParams;
  temperature: { fixed: number } | { annealing: number };
  eta: number;
  particles: number;
  h: number;
  steps: number;
  report_every: number;
  grid: ResolvedGrid;
}

export function resolveTwoScaleParams(params: MinimaxTwoScaleParams): ResolvedTwoScaleParams {
  const errors = objectiveErrors(params.objective, true);
  throwFieldErrors(errors);
  const dimension = objectiveDimension(params.objective);
  const grid = resolveGrid(params.grid, dimension, { cells: [512, 64], bins: [32, 16] }, errors);
  workErrors(params, errors);
  if (params.tau === undefined && params.annealing === undefined)
    errors.push({ path: `${P}/tau`, message: 'is required unless annealing is given' });
  if (params.tau !== undefined && params.annealing !== undefined)
    errors.push({ path: `${P}/annealing`, message: 'give either tau or annealing, not both' });
  const lipschitz = gradientLipschitz(createObjective(params.objective));
  const stiffness = Math.max(1, params.eta) * lipschitz;
  if (params.h * stiffness > 1) {
    errors.push({
      path: `${P}/h`,
      message: `is unstable: h·max(1, η)·Lip = ${(params.h * stiffness).toPrecision(3)} > 1 (Lip = ${lipschitz}); use h ≤ ${(1 / stiffness).toPrecision(3)}`,
    });
  }
  throwFieldErrors(errors);
  return {
    objective: params.objective,
    temperature:
      params.annealing !== undefined
        ? { annealing: params.annealing.constant }
        : { fixed: params.tau as number },
    eta: params.eta,
    particles: params.particles,
    h: params.h,
    steps: params.steps,
    report_every: params.report_every,
    grid,
  };
}
