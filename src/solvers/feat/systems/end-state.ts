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
  /** ΔF = F_b − F_a = −log(Z_b/Z_a) when known, and why it is known (with its CI when it was simulated). */
  reference?: {
    deltaF: number;
    kind: 'analytic' | 'symmetry' | 'quadrature' | 'simulation';
    ci?: [number, number];
  };
  /**
   * Particles whose energies ignore where their centre of mass is (x row-major, particle by particle): the
   * paths' noise is projected onto the mean-free subspace, as FEAT's code does for its particle systems.
   */
  meanFree?: { particles: number; spatial: number };
}

/** ΔF from the two log-partition functions, when both are known. */
export function deltaFromPartitions(a: EndState, b: EndState): number | undefined {
  if (a.logPartition === undefined || b.logPartition === undefined) return undefined;
  return a.logPartition - b.logPartition;
}

/** Subtracts the particles' mean from every point of a row-major count × (particles·spatial) array. */
export function removeMean(x: Float64Array, particles: number, spatial: number): void {
  const width = particles * spatial;
  for (let row = 0; row < x.length; row += width) {
    for (let k = 0; k < spatial; k++) {
      let mean = 0;
      for (let p = 0; p < particles; p++) mean += x[row + p * spatial + k] as number;
      mean /= particles;
      for (let p = 0; p < particles; p++)
        x[row + p * spatial + k] = (x[row + p * spatial + k] as number) - mean;
    }
  }
}
