// What an end state of a free-energy problem is: a potential U (ρ ∝ e^{−U}, k_BT = 1) with its gradient,
// an exact sampler where one exists, log Z where it is known, and, for Gaussians, the moments the analytic
// transport needs.
import type { Random } from '../../../lib/random.js';

export interface GaussianMoments {
  mean: Float64Array;
  /** Row-major d × d. */
  covariance: Float64Array;
}

export interface EndState {
  dim: number;
  /** U(x) at one point; when `gradient` is given, ∇U(x) is written into it. */
  energy(x: Float64Array, gradient?: Float64Array): number;
  /** `count` exact samples, row-major count × d; absent when the state has no exact sampler. */
  sample?(random: Random, count: number): Float64Array;
  /** Where MCMC chains start for a state without an exact sampler (count × d). */
  mcmcStart?(random: Random, count: number): Float64Array;
  /** log Z = log ∫ e^{−U(x)} dx, when known. */
  logPartition?: number;
  gaussian?: GaussianMoments;
}

export interface SystemPair {
  name: string;
  dim: number;
  a: EndState;
  b: EndState;
  /** ΔF = F_b − F_a = −log(Z_b/Z_a) when known, and why it is known. */
  reference?: { deltaF: number; kind: 'analytic' | 'symmetry' | 'quadrature' };
}

/** ΔF from the two log-partition functions, when both are known. */
export function deltaFromPartitions(a: EndState, b: EndState): number | undefined {
  if (a.logPartition === undefined || b.logPartition === undefined) return undefined;
  return a.logPartition - b.logPartition;
}
