// The Nikaido–Isoda error NI(μ, ν) = max_ν' L_T(μ, ν') − min_μ' L_T(μ', ν) ≥ 0 of the regularised game
// L_T(μ, ν) = L(μ, ν) + T·KL(μ|ρ^μ) − T·KL(ν|ρ^ν), for grid measures. For bilinear L the inner optima are
// Gibbs measures and NI has the closed form (our notes §1.4)
//   NI = T·KL(μ|ρ^μ) + T·KL(ν|ρ^ν) + T·log E_ρ^ν[e^{f_μ/T}] + T·log E_ρ^μ[e^{−g_ν/T}],
// where the two log-partition terms are taken over the grid cells. It is 0 exactly at the grid equilibrium.
// The unregularised NI (T → 0) is max_y f_μ(y) − min_x g_ν(x) over the cell centres.

import { gibbs, klDivergence } from './gibbs.js';
import { firstVariationOnGrid, type GridGame, gridFeatureMeans } from './grid-game.js';
import { bilinearValue } from './kernels.js';

export interface GridMeasurePair {
  min: Float64Array;
  max: Float64Array;
}

export function niError(game: GridGame, pair: GridMeasurePair, temperature: number): number {
  const size = game.grid.size;
  const scratch = new Float64Array(size);
  const f = firstVariationOnGrid(game, gridFeatureMeans(game, pair.min), 'max');
  const g = firstVariationOnGrid(game, gridFeatureMeans(game, pair.max), 'min');
  const maxOverNu = gibbs(game.referenceMax, f, 1, temperature, scratch);
  const minOverMu = -gibbs(game.referenceMin, g, -1, temperature, scratch);
  return (
    temperature * klDivergence(pair.min, game.referenceMin) +
    temperature * klDivergence(pair.max, game.referenceMax) +
    maxOverNu -
    minOverMu
  );
}

/** max_y f_μ(y) − min_x g_ν(x) over the grid, from the players' feature means (exact for particles). */
export function unregularisedNi(game: GridGame, minMeans: Float64Array, maxMeans: Float64Array): number {
  const f = firstVariationOnGrid(game, minMeans, 'max');
  const g = firstVariationOnGrid(game, maxMeans, 'min');
  let largest = -Infinity;
  let smallest = Infinity;
  for (let i = 0; i < f.length; i++) {
    if ((f[i] as number) > largest) largest = f[i] as number;
    if ((g[i] as number) < smallest) smallest = g[i] as number;
  }
  return largest - smallest;
}

/** L_T(μ, ν) for grid measures. */
export function regularisedValue(
  game: GridGame,
  min: Float64Array,
  max: Float64Array,
  temperature: number,
): number {
  return (
    bilinearValue(game.objective, gridFeatureMeans(game, min), gridFeatureMeans(game, max)) +
    temperature * klDivergence(min, game.referenceMin) -
    temperature * klDivergence(max, game.referenceMax)
  );
}

/**
 * The papers' "3-point NI" proxy (Kim et al. 2024, as the reviewers describe it), generalised to the pairs
 * a job has: for the pair `scored`, max_j L_T(μ_scored, ν_j) − min_j L_T(μ_j, ν_scored) over the candidate
 * pairs j (the scored pair is always among them, so the proxy is ≥ 0 and ≤ the true NI).
 */
export function candidateNi(
  game: GridGame,
  scored: GridMeasurePair,
  candidates: GridMeasurePair[],
  temperature: number,
): number {
  const all = [scored, ...candidates];
  const against = Math.max(...all.map((pair) => regularisedValue(game, scored.min, pair.max, temperature)));
  const response = Math.min(...all.map((pair) => regularisedValue(game, pair.min, scored.max, temperature)));
  return against - response;
}
