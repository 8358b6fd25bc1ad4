// Scoring a pair of measures against the grid equilibrium: the NI error (closed form on the grid, particle
// measures binned as histogram.ts explains), the unregularised NI, W1 of each player to its equilibrium
// marginal (exact in 1-D, on the line or the circle; see wasserstein.ts for 2-D), L(μ, ν) and L_T(μ, ν).
import type { Random } from '../../lib/random.js';
import type { Grid } from './grid.js';
import { type GridGame, gridFeatureMeans } from './grid-game.js';
import type { GridEquilibrium } from './ground-truth.js';
import { binMasses, coarsen, particleMeasure } from './histogram.js';
import { bilinearValue } from './kernels.js';
import { type GridMeasurePair, niError, regularisedValue, unregularisedNi } from './nikaido-isoda.js';
import { featureCount } from './objectives.js';
import type { ParticleSet } from './particles.js';
import { w1Box, w1Torus } from './wasserstein.js';

export interface Scorer {
  game: GridGame;
  equilibrium: GridEquilibrium;
  /** The temperature (λ or τ) of the regularised game. */
  temperature: number;
  binsPerAxis: number;
}

export interface Score {
  /** NI of the binned measures at the scorer's temperature. */
  ni: number;
  /** max_y f_μ(y) − min_x g_ν(x) on the grid. */
  ni_unregularised: number;
  w1_mu: number;
  w1_nu: number;
  /** L(μ, ν) = ∫∫Q dμ dν. */
  objective_value: number;
  /** L_T(μ, ν) of the binned measures. */
  regularised_value: number;
}

/** A measure as W1 sees it: particles, or grid weights at the cell centres. */
type Atoms = { points: Float64Array; weights?: Float64Array };

function w1(scorer: Scorer, a: Atoms, b: Atoms): number {
  const { grid } = scorer.game;
  return grid.periodic ? w1Torus(grid.dimension, a, b) : w1Box(grid.dimension, a, b);
}

function scorePair(
  scorer: Scorer,
  exact: GridMeasurePair,
  atoms: { min: Atoms; max: Atoms },
  means: { min: Float64Array; max: Float64Array },
): Score {
  const { game, equilibrium, temperature, binsPerAxis } = scorer;
  const binned = {
    min: coarsen(game.grid, exact.min, binsPerAxis),
    max: coarsen(game.grid, exact.max, binsPerAxis),
  };
  const centers = game.grid.centers;
  return {
    ni: niError(game, binned, temperature),
    ni_unregularised: unregularisedNi(game, means.min, means.max),
    w1_mu: w1(scorer, atoms.min, { points: centers, weights: equilibrium.min }),
    w1_nu: w1(scorer, atoms.max, { points: centers, weights: equilibrium.max }),
    objective_value: bilinearValue(game.objective, means.min, means.max),
    regularised_value: regularisedValue(game, binned.min, binned.max, temperature),
  };
}

/** Scores particle measures: W1 and the feature means from the particles themselves, NI from the bins. */
export function scoreParticles(scorer: Scorer, min: ParticleSet, max: ParticleSet): Score {
  const grid = scorer.game.grid;
  min.refresh();
  max.refresh();
  const means = {
    min: min.means(new Float64Array(featureCount(min.objective))),
    max: max.means(new Float64Array(featureCount(max.objective))),
  };
  return scorePair(
    scorer,
    { min: particleMeasure(grid, min.points, min.count), max: particleMeasure(grid, max.points, max.count) },
    { min: { points: min.points }, max: { points: max.points } },
    means,
  );
}

/** Scores grid measures (MFL-AG's averaged measure). */
export function scoreGridMeasures(scorer: Scorer, pair: GridMeasurePair): Score {
  const centers = scorer.game.grid.centers;
  return scorePair(
    scorer,
    pair,
    { min: { points: centers, weights: pair.min }, max: { points: centers, weights: pair.max } },
    { min: gridFeatureMeans(scorer.game, pair.min), max: gridFeatureMeans(scorer.game, pair.max) },
  );
}

/** The binned measures of particles, as the NI sees them (for the three-point proxy and the histograms). */
export function binnedParticles(scorer: Scorer, min: ParticleSet, max: ParticleSet): GridMeasurePair {
  const grid = scorer.game.grid;
  return {
    min: coarsen(grid, particleMeasure(grid, min.points, min.count), scorer.binsPerAxis),
    max: coarsen(grid, particleMeasure(grid, max.points, max.count), scorer.binsPerAxis),
  };
}

export function binnedGrid(scorer: Scorer, pair: GridMeasurePair): GridMeasurePair {
  const grid = scorer.game.grid;
  return {
    min: coarsen(grid, pair.min, scorer.binsPerAxis),
    max: coarsen(grid, pair.max, scorer.binsPerAxis),
  };
}

/** Bin masses of a grid measure pair, rounded for the result (binsPerAxis^d numbers each). */
export function histograms(scorer: Scorer, pair: GridMeasurePair): { mu: number[]; nu: number[] } {
  const round = (masses: Float64Array) => Array.from(masses, (m) => Number(m.toPrecision(6)));
  return {
    mu: round(binMasses(scorer.game.grid, pair.min, scorer.binsPerAxis)),
    nu: round(binMasses(scorer.game.grid, pair.max, scorer.binsPerAxis)),
  };
}

/** Independent draws averaged in the sampling floor: one draw of a two-mode law varies by a factor of 3. */
const FLOOR_DRAWS = 8;

/** `count` independent samples of a grid measure: a cell drawn by its weight, then uniform within the cell. */
export function sampleGrid(grid: Grid, weights: Float64Array, count: number, random: Random): Float64Array {
  const cumulative = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i] as number;
    cumulative[i] = total;
  }
  const points = new Float64Array(count * grid.dimension);
  for (let n = 0; n < count; n++) {
    const u = random.nextUniform() * total;
    let lo = 0;
    let hi = weights.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    for (let c = 0; c < grid.dimension; c++)
      points[n * grid.dimension + c] =
        (grid.centers[lo * grid.dimension + c] as number) + grid.cellWidth * (random.nextUniform() - 0.5);
  }
  return points;
}

/**
 * The mean W1 of `count` independent samples of the equilibrium (drawn cell by cell, uniform within the
 * cell) to the equilibrium itself, over 8 draws: what a perfect sampler of N particles would show.
 */
export function samplingFloor(scorer: Scorer, count: number, random: Random): { mu: number; nu: number } {
  const { grid } = scorer.game;
  const draw = (weights: Float64Array) => sampleGrid(grid, weights, count, random);
  const centers = grid.centers;
  const mean = (weights: Float64Array) => {
    let sum = 0;
    for (let k = 0; k < FLOOR_DRAWS; k++)
      sum += w1(scorer, { points: draw(weights) }, { points: centers, weights });
    return sum / FLOOR_DRAWS;
  };
  return { mu: mean(scorer.equilibrium.min), nu: mean(scorer.equilibrium.max) };
}
