// A bilinear objective evaluated on a grid with the players' references: the feature table of the cell
// centres, computed once, and the first variations f_μ(y) = ∫Q(x, y)dμ(x), g_ν(x) = ∫Q(x, y)dν(y) of any
// grid measure (or of given feature means, for particle measures) at every cell.
import type { Grid } from './grid.js';
import {
  createTrigTable,
  featureMeans,
  fillTrig,
  firstVariationCoefficients,
  potentialValues,
  type TrigTable,
} from './kernels.js';
import { type BilinearObjective, featureCount } from './objectives.js';

export interface GridGame {
  objective: BilinearObjective;
  grid: Grid;
  table: TrigTable;
  referenceMin: Float64Array;
  referenceMax: Float64Array;
}

export function createGridGame(
  objective: BilinearObjective,
  grid: Grid,
  referenceMin: Float64Array,
  referenceMax: Float64Array,
): GridGame {
  const table = createTrigTable(objective, grid.size);
  fillTrig(objective, grid.centers, grid.size, table);
  return { objective, grid, table, referenceMin, referenceMax };
}

/** E_w[φ] of a grid measure w. */
export function gridFeatureMeans(game: GridGame, weights: Float64Array): Float64Array {
  const out = new Float64Array(featureCount(game.objective));
  featureMeans(game.objective, game.table, game.grid.size, out, weights);
  return out;
}

/**
 * The first variation seen by `player` at every cell, given the other player's feature means:
 * the min player sees g_ν(x) = ∫Q(x, y)dν(y), the max player f_μ(y) = ∫Q(x, y)dμ(x).
 */
export function firstVariationOnGrid(
  game: GridGame,
  otherMeans: Float64Array,
  player: 'min' | 'max',
  out: Float64Array = new Float64Array(game.grid.size),
): Float64Array {
  const coefficients = new Float64Array(featureCount(game.objective));
  firstVariationCoefficients(game.objective, otherMeans, player, coefficients);
  potentialValues(game.objective, game.table, game.grid.size, coefficients, out);
  return out;
}
