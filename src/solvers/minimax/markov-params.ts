// Params of minimax.markov-game: the schema (validation, types and OpenAPI), the checks it cannot express —
// the work limit, the stability rule for h, grid and bins that fit — each a 400 with the field path, and the
// defaults resolved once for the processor and the submit check.
//
// Stability rule (docs/minimax.md): the stage games Q^V_s change with V, so the Lipschitz bound of their
// drift is taken with |V| ≤ r_max/(1 − γ): h·(max_s [Lip(R_s) + γ·r_max/(1 − γ)·Σ_{s'} Lip(P_{ss'})] + λ/σ²) ≤ 1.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../errors.js';
import { type MarkovGame, pursuit3, rewardBound } from './markov-game.js';
import type { MflAlgorithm } from './mfl.js';
import { createObjective, gradientLipschitz } from './objectives.js';
import {
  AlgorithmSchema,
  GridSchema,
  MAX_PARTICLE_STEPS,
  type ResolvedGrid,
  resolveAlgorithm,
  resolveGrid,
} from './params.js';

/** Each report costs one exact Nash gap (two value iterations over the grid): a few tens of ms. */
export const MAX_MARKOV_REPORTS = 200;

export const MinimaxMarkovGameParams = Type.Object(
  {
    game: Type.Object(
      {
        name: Type.Literal('pursuit-3', { description: 'The game (docs/minimax.md#minimaxmarkov-game).' }),
        discount: Type.Number({ minimum: 0, maximum: 0.95, default: 0.8, description: 'γ.' }),
      },
      { additionalProperties: false, default: { name: 'pursuit-3' } },
    ),
    algorithm: AlgorithmSchema,
    lambda: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100,
      default: 0.3,
      description: 'λ, the KL weight in every state.',
    }),
    reference_std: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100,
      default: 1,
      description: 'σ of both players’ Gaussian reference N(0, σ²).',
    }),
    particles: Type.Integer({
      minimum: 1,
      maximum: 20_000,
      default: 1000,
      description: 'N per player and state.',
    }),
    h: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.05, description: 'Step h.' }),
    steps: Type.Integer({
      minimum: 1,
      maximum: 200_000,
      default: 4000,
      description: 'Langevin steps in every state.',
    }),
    steps_per_round: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 50,
      description:
        'Langevin steps between two value updates (MFL-ABR: at least one outer iteration of `inner` steps).',
    }),
    report_every: Type.Integer({
      minimum: 1,
      maximum: 200_000,
      default: 200,
      description: 'Score the strategies every this many steps (and after the last).',
    }),
    grid: Type.Optional(GridSchema(1200, 48, true)),
  },
  {
    additionalProperties: false,
    examples: [{ game: { name: 'pursuit-3' }, algorithm: { name: 'mfl-ag' }, steps: 4000 }],
  },
);
export type MinimaxMarkovGameParams = Static<typeof MinimaxMarkovGameParams>;

export interface ResolvedMarkovParams {
  game: MarkovGame;
  algorithm: MflAlgorithm;
  lambda: number;
  reference_std: number;
  particles: number;
  h: number;
  steps: number;
  steps_per_round: number;
  report_every: number;
  grid: ResolvedGrid;
  /** The stability rule's bound on the stage games' drift Lipschitz constants. */
  lipschitz: number;
}

const P = '/body/params';

/** The rule's Lipschitz bound (see the file comment). */
function stageLipschitz(game: MarkovGame): number {
  const valueBound = rewardBound(game) / (1 - game.discount);
  const lipschitzOf = (coefficients: number[][]) =>
    gradientLipschitz(
      createObjective({ name: 'features', dimension: 1, frequencies: game.frequencies, coefficients }),
    );
  return Math.max(
    ...game.rewards.map((reward, s) => {
      const transitions = (game.transitions[s] as number[][][]).reduce(
        (sum, matrix) => sum + lipschitzOf(matrix),
        0,
      );
      return lipschitzOf(reward) + game.discount * valueBound * transitions;
    }),
  );
}

/** Checks minimax.markov-game params and fills every default in; throws 400 with field paths. */
export function resolveMarkovParams(params: MinimaxMarkovGameParams): ResolvedMarkovParams {
  const errors: FieldError[] = [];
  const game = pursuit3(params.game.discount);
  const grid = resolveGrid(params.grid, 1, { cells: [1200, 80], bins: [48, 16] }, errors);
  const work = params.particles * params.steps * game.states;
  if (work > MAX_PARTICLE_STEPS) {
    errors.push({
      path: `${P}/steps`,
      message: `${params.particles} particles × ${params.steps} steps × ${game.states} states is over the limit of ${MAX_PARTICLE_STEPS} particle-steps; use at most ${Math.floor(MAX_PARTICLE_STEPS / (params.particles * game.states))} steps`,
    });
  }
  if (Math.ceil(params.steps / params.report_every) > MAX_MARKOV_REPORTS) {
    errors.push({
      path: `${P}/report_every`,
      message: `gives more than ${MAX_MARKOV_REPORTS} reports; use at least ${Math.ceil(params.steps / MAX_MARKOV_REPORTS)}`,
    });
  }
  const lipschitz = stageLipschitz(game);
  const stiffness = lipschitz + params.lambda / params.reference_std ** 2;
  if (params.h * stiffness > 1) {
    errors.push({
      path: `${P}/h`,
      message: `is unstable: h·(Lip + λ/σ²) = ${(params.h * stiffness).toPrecision(3)} > 1 (Lip = ${lipschitz.toPrecision(3)}); use h ≤ ${(1 / stiffness).toPrecision(3)}`,
    });
  }
  throwFieldErrors(errors);
  return {
    game,
    algorithm: resolveAlgorithm(params.algorithm),
    lambda: params.lambda,
    reference_std: params.reference_std,
    particles: params.particles,
    h: params.h,
    steps: params.steps,
    steps_per_round: params.steps_per_round,
    report_every: params.report_every,
    grid,
    lipschitz,
  };
}
