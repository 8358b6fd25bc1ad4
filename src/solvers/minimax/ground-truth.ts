// The regularised equilibrium on the grid, the ground truth both minimax jobs score against: the Gibbs fixed
// points μ* ∝ ρ^μ exp(−g_ν*/T), ν* ∝ ρ^ν exp(+f_μ*/T) (Kim et al. 2024; Lu 2023 with a uniform reference),
// found by damped best response μ ← (1−α)μ + α·BR(ν), ν ← (1−α)ν + α·BR(μ), both from the previous pair.
// Small damping converges where large damping oscillates (α = 0.2 or 0.5 do on MM1D at λ = 0.1; our notes
// §4); if the residual grows for a stretch of iterations the damping is halved, so the solver still settles
// at temperatures colder than the default damping tolerates.
import { gibbs, l1Distance } from './gibbs.js';
import { firstVariationOnGrid, type GridGame, gridFeatureMeans } from './grid-game.js';

export interface GridEquilibriumOptions {
  temperature: number;
  /** α; default 0.05. */
  damping?: number;
  /** Stop once ‖μ_{k+1} − μ_k‖₁ + ‖ν_{k+1} − ν_k‖₁ is below this; default 1e-10. */
  tolerance?: number;
  /** Default 200 000. */
  maxIterations?: number;
  /** Warm start (the previous temperature's solution, under annealing); default the references. */
  start?: { min: Float64Array; max: Float64Array };
}

export interface GridEquilibrium {
  min: Float64Array;
  max: Float64Array;
  /** ‖μ_{k+1} − μ_k‖₁ + ‖ν_{k+1} − ν_k‖₁ at the last iteration. */
  residual: number;
  /** ‖BR(ν) − μ‖₁ + ‖BR(μ) − ν‖₁ at the solution: the residual without the damping factor. */
  fixedPointResidual: number;
  iterations: number;
  /** The damping the iteration ended with (it halves when the residual keeps growing). */
  damping: number;
  converged: boolean;
}

/** Iterations over which a growing residual halves the damping. */
const GROWTH_WINDOW = 50;

export function solveGridEquilibrium(game: GridGame, options: GridEquilibriumOptions): GridEquilibrium {
  const { temperature } = options;
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 200_000;
  let damping = options.damping ?? 0.05;
  const size = game.grid.size;
  let min = Float64Array.from(options.start?.min ?? game.referenceMin);
  let max = Float64Array.from(options.start?.max ?? game.referenceMax);
  let nextMin = new Float64Array(size);
  let nextMax = new Float64Array(size);
  const responseMin = new Float64Array(size);
  const responseMax = new Float64Array(size);
  const potential = new Float64Array(size);
  const bestResponses = () => {
    gibbs(
      game.referenceMin,
      firstVariationOnGrid(game, gridFeatureMeans(game, max), 'min', potential),
      -1,
      temperature,
      responseMin,
    );
    gibbs(
      game.referenceMax,
      firstVariationOnGrid(game, gridFeatureMeans(game, min), 'max', potential),
      1,
      temperature,
      responseMax,
    );
  };
  let residual = Infinity;
  let windowStart = Infinity;
  let iterations = 0;
  while (iterations < maxIterations) {
    bestResponses();
    residual = 0;
    for (let i = 0; i < size; i++) {
      nextMin[i] = (1 - damping) * (min[i] as number) + damping * (responseMin[i] as number);
      nextMax[i] = (1 - damping) * (max[i] as number) + damping * (responseMax[i] as number);
      residual +=
        Math.abs((nextMin[i] as number) - (min[i] as number)) +
        Math.abs((nextMax[i] as number) - (max[i] as number));
    }
    [min, nextMin] = [nextMin, min];
    [max, nextMax] = [nextMax, max];
    iterations++;
    if (residual < tolerance) break;
    if (iterations % GROWTH_WINDOW === 0) {
      if (residual > windowStart) damping /= 2;
      windowStart = residual;
    }
  }
  bestResponses();
  const fixedPointResidual = l1Distance(responseMin, min) + l1Distance(responseMax, max);
  return { min, max, residual, fixedPointResidual, iterations, damping, converged: residual < tolerance };
}
