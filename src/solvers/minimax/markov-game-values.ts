// Exact quantities of the regularised Markov game (markov-game.ts) with the actions on a grid:
// - its equilibrium, by Shapley's value iteration V ← T(V): each stage game Q^V_s solved to its regularised
//   equilibrium by the damped best-response solver of the other minimax jobs (warm-started from the last
//   iteration's), V(s) its value; a γ-contraction, iterated until V moves less than the tolerance;
// - the Nash gap of any stationary strategies (μ_s, ν_s), by dynamic programming: against a fixed μ the max
//   player faces a regularised MDP whose Bellman optimality equation has a Gibbs optimum per state,
//   V(s) = λKL(μ_s|ρ) + λ log E_ρ[exp(f^V_s/λ)], f^V_s(y) = ∫Q^V_s(x, y)dμ_s(x), and the min player likewise;
//   gap(s) = V^{μ,†}(s) − V^{†,ν}(s) ≥ 0, zero in every state exactly at the equilibrium.
import { gibbs, klDivergence } from './gibbs.js';
import type { Grid } from './grid.js';
import { createGridGame, firstVariationOnGrid, type GridGame, gridFeatureMeans } from './grid-game.js';
import { solveGridEquilibrium } from './ground-truth.js';
import { type MarkovGame, setStageCoefficients, stageObjectives } from './markov-game.js';
import { type GridMeasurePair, regularisedValue } from './nikaido-isoda.js';
import type { BilinearObjective } from './objectives.js';

/** The game's stage games on one grid; their coefficients are rewritten for each V they are asked about. */
export interface MarkovStages {
  game: MarkovGame;
  objectives: BilinearObjective[];
  grids: GridGame[];
}

export function createMarkovStages(
  game: MarkovGame,
  grid: Grid,
  referenceMin: Float64Array,
  referenceMax: Float64Array,
): MarkovStages {
  const objectives = stageObjectives(game);
  return {
    game,
    objectives,
    grids: objectives.map((objective) => createGridGame(objective, grid, referenceMin, referenceMax)),
  };
}

export interface MarkovEquilibrium {
  values: Float64Array;
  policies: GridMeasurePair[];
  iterations: number;
  /** sup_s |V_{k+1}(s) − V_k(s)| at the last iteration. */
  residual: number;
  /** The largest stage solver's fixed-point residual (‖BR − μ‖₁ + ‖BR − ν‖₁) at the last iteration. */
  stageResidual: number;
  converged: boolean;
}

export function solveMarkovEquilibrium(
  stages: MarkovStages,
  temperature: number,
  options: { tolerance?: number; maxIterations?: number } = {},
): MarkovEquilibrium {
  const tolerance = options.tolerance ?? 1e-12;
  const maxIterations = options.maxIterations ?? 10_000;
  const { game, objectives, grids } = stages;
  let values = new Float64Array(game.states);
  const policies: GridMeasurePair[] = grids.map((stage) => ({
    min: Float64Array.from(stage.referenceMin),
    max: Float64Array.from(stage.referenceMax),
  }));
  let residual = Infinity;
  let stageResidual = 0;
  let iterations = 0;
  while (iterations < maxIterations && residual >= tolerance) {
    setStageCoefficients(game, values, objectives);
    const next = new Float64Array(game.states);
    stageResidual = 0;
    grids.forEach((stage, s) => {
      const solved = solveGridEquilibrium(stage, {
        temperature,
        start: policies[s],
        tolerance: 1e-15,
        maxIterations: 1_000_000,
      });
      policies[s] = { min: solved.min, max: solved.max };
      stageResidual = Math.max(stageResidual, solved.fixedPointResidual);
      next[s] = regularisedValue(stage, solved.min, solved.max, temperature);
    });
    residual = Math.max(...next.map((value, s) => Math.abs(value - (values[s] as number))));
    values = next;
    iterations++;
  }
  return { values, policies, iterations, residual, stageResidual, converged: residual < tolerance };
}

export interface NashGap {
  /** max_s gap(s). */
  gap: number;
  perState: number[];
  /** V^{μ,†}: the value when the max player best-responds to μ. */
  againstMin: Float64Array;
  /** V^{†,ν}: the value when the min player best-responds to ν. */
  againstMax: Float64Array;
}

/** The exact Nash gap of stationary grid strategies, each best-response value iterated to `tolerance`. */
export function nashGap(
  stages: MarkovStages,
  policies: GridMeasurePair[],
  temperature: number,
  tolerance = 1e-12,
): NashGap {
  const { game, objectives, grids } = stages;
  const scratch = new Float64Array((grids[0] as GridGame).grid.size);
  const potential = new Float64Array(scratch.length);
  const meansMin = policies.map((pair, s) => gridFeatureMeans(grids[s] as GridGame, pair.min));
  const meansMax = policies.map((pair, s) => gridFeatureMeans(grids[s] as GridGame, pair.max));
  const klMin = policies.map((pair, s) => klDivergence(pair.min, (grids[s] as GridGame).referenceMin));
  const klMax = policies.map((pair, s) => klDivergence(pair.max, (grids[s] as GridGame).referenceMax));
  const bestResponseValues = (responder: 'max' | 'min'): Float64Array => {
    let values = new Float64Array(game.states);
    for (let iteration = 0; iteration < 100_000; iteration++) {
      setStageCoefficients(game, values, objectives);
      const next = new Float64Array(game.states);
      grids.forEach((stage, s) => {
        if (responder === 'max') {
          firstVariationOnGrid(stage, meansMin[s] as Float64Array, 'max', potential);
          next[s] =
            temperature * (klMin[s] as number) +
            gibbs(stage.referenceMax, potential, 1, temperature, scratch);
        } else {
          firstVariationOnGrid(stage, meansMax[s] as Float64Array, 'min', potential);
          next[s] =
            -temperature * (klMax[s] as number) -
            gibbs(stage.referenceMin, potential, -1, temperature, scratch);
        }
      });
      const change = Math.max(...next.map((value, s) => Math.abs(value - (values[s] as number))));
      values = next;
      if (change < tolerance) break;
    }
    return values;
  };
  const againstMin = bestResponseValues('max');
  const againstMax = bestResponseValues('min');
  const perState = Array.from(againstMin, (value, s) => value - (againstMax[s] as number));
  return { gap: Math.max(...perState), perState, againstMin, againstMax };
}
