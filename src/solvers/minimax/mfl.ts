// Mean-field Langevin dynamics for min_μ max_ν L(μ, ν) + λKL(μ|ρ^μ) − λKL(ν|ρ^ν), N particles per player
// (Kim, Yamamoto, Oko, Yang & Suzuki, "Symmetric Mean-field Langevin Dynamics for Distributional Minimax
// Problems", ICLR 2024; the discretised rules of our notes §4):
// - MFL-DA: both players take one Langevin step against the other's current measure, simultaneously.
// - MFL-AG: the drift is the weighted average (1/B_k)Σ_{j≤k} β_j ∇δL/δμ(μ_j, ν_j), β_j = j^r, and the output
//   is the weighted average of the past measures. Deviation: the paper samples subsets of past particle
//   sets; every objective here is finite-feature, so we keep the exact running weighted feature means
//   instead (O(N·K) a step, no history). The averaged measure is accumulated on the grid as a histogram;
//   the measure before step k carries weight β_k = k^r (so μ_0 is included).
// - MFL-ABR: each outer iteration freezes (μ_k, ν_k), runs `inner` Langevin steps of copies of the particles
//   towards the Gibbs best responses, then replaces each particle by its copy with probability β (the
//   anchored update μ_{k+1} = (1−β)μ_k + β μ̂_k). The copies start from the current particles.
// A step is one Langevin move of all particles of both players; ABR spends `inner` steps per outer iteration.
import type { Random } from '../../lib/random.js';
import type { Grid } from './grid.js';
import { addParticles } from './histogram.js';
import type { GridMeasurePair } from './nikaido-isoda.js';
import { type BilinearObjective, featureCount } from './objectives.js';
import { ParticleSet } from './particles.js';

export type MflAlgorithm =
  | { name: 'mfl-da' }
  | { name: 'mfl-ag'; r: number }
  | { name: 'mfl-abr'; inner: number; beta: number };

export interface MflSettings {
  objective: BilinearObjective;
  algorithm: MflAlgorithm;
  /** λ, the weight of both KL terms (the Langevin temperature). */
  lambda: number;
  /** Standard deviations of the Gaussian references ρ^μ = N(0, σ_μ²I), ρ^ν = N(0, σ_ν²I). */
  referenceStd: { min: number; max: number };
  particles: number;
  /** Step h. */
  h: number;
  /** Where MFL-AG accumulates its averaged measure. */
  grid: Grid;
}

export class MflDynamics {
  /** Langevin steps taken so far. */
  steps = 0;
  readonly min: ParticleSet;
  readonly max: ParticleSet;
  private readonly meansMin: Float64Array;
  private readonly meansMax: Float64Array;
  private readonly averageMeansMin: Float64Array;
  private readonly averageMeansMax: Float64Array;
  private weightTotal = 0;
  private readonly averageMin: Float64Array | undefined;
  private readonly averageMax: Float64Array | undefined;

  constructor(
    private readonly settings: MflSettings,
    private readonly random: Random,
  ) {
    const { objective, particles, referenceStd } = settings;
    // Both players start from their references.
    this.min = ParticleSet.gaussian(objective, particles, referenceStd.min, random);
    this.max = ParticleSet.gaussian(objective, particles, referenceStd.max, random);
    const size = featureCount(objective);
    this.meansMin = new Float64Array(size);
    this.meansMax = new Float64Array(size);
    this.averageMeansMin = new Float64Array(size);
    this.averageMeansMax = new Float64Array(size);
    if (settings.algorithm.name === 'mfl-ag') {
      this.averageMin = new Float64Array(settings.grid.size);
      this.averageMax = new Float64Array(settings.grid.size);
    }
  }

  /** Runs steps (whole outer iterations for MFL-ABR) until at least `untilStep` steps are done. */
  advance(untilStep: number): void {
    const algorithm = this.settings.algorithm;
    while (this.steps < untilStep) {
      if (algorithm.name === 'mfl-abr') this.bestResponseIteration(algorithm.inner, algorithm.beta);
      else this.langevinStep(algorithm.name === 'mfl-ag' ? algorithm.r : undefined);
    }
  }

  /** MFL-AG's weighted average of past measures on the grid; undefined for the other algorithms. */
  averaged(): GridMeasurePair | undefined {
    if (this.averageMin === undefined || this.averageMax === undefined || this.weightTotal === 0)
      return undefined;
    const scale = 1 / this.weightTotal;
    return {
      min: Float64Array.from(this.averageMin, (w) => w * scale),
      max: Float64Array.from(this.averageMax, (w) => w * scale),
    };
  }

  private confinement(std: number): number {
    return this.settings.lambda / (std * std);
  }

  /** One MFL-DA step, or one MFL-AG step when `r` is given. */
  private langevinStep(r: number | undefined): void {
    const { lambda, h, referenceStd, grid } = this.settings;
    this.min.refresh();
    this.max.refresh();
    this.min.means(this.meansMin);
    this.max.means(this.meansMax);
    let driftMin = this.meansMin;
    let driftMax = this.meansMax;
    if (r !== undefined && this.averageMin !== undefined && this.averageMax !== undefined) {
      const beta = (this.steps + 1) ** r;
      this.weightTotal += beta;
      const share = beta / this.weightTotal;
      for (let j = 0; j < this.meansMin.length; j++) {
        this.averageMeansMin[j] =
          (this.averageMeansMin[j] as number) +
          share * ((this.meansMin[j] as number) - (this.averageMeansMin[j] as number));
        this.averageMeansMax[j] =
          (this.averageMeansMax[j] as number) +
          share * ((this.meansMax[j] as number) - (this.averageMeansMax[j] as number));
      }
      addParticles(grid, this.min.points, this.min.count, this.averageMin, beta);
      addParticles(grid, this.max.points, this.max.count, this.averageMax, beta);
      driftMin = this.averageMeansMin;
      driftMax = this.averageMeansMax;
    }
    // The min player's drift is ∇ₓ∫Q dν̄: it reads the max player's (averaged) means, and vice versa.
    this.min.move('min', driftMax, h, lambda, this.confinement(referenceStd.min), this.random, false);
    this.max.move('max', driftMin, h, lambda, this.confinement(referenceStd.max), this.random, false);
    this.steps++;
  }

  private bestResponseIteration(inner: number, beta: number): void {
    const { lambda, h, referenceStd } = this.settings;
    this.min.refresh();
    this.max.refresh();
    this.min.means(this.meansMin);
    this.max.means(this.meansMax);
    const responseMin = this.min.copy();
    const responseMax = this.max.copy();
    for (let step = 0; step < inner; step++) {
      responseMin.refresh();
      responseMax.refresh();
      responseMin.move(
        'min',
        this.meansMax,
        h,
        lambda,
        this.confinement(referenceStd.min),
        this.random,
        false,
      );
      responseMax.move(
        'max',
        this.meansMin,
        h,
        lambda,
        this.confinement(referenceStd.max),
        this.random,
        false,
      );
    }
    const d = this.settings.objective.dimension;
    for (const [set, response] of [
      [this.min, responseMin],
      [this.max, responseMax],
    ] as const) {
      for (let i = 0; i < set.count; i++) {
        if (this.random.nextUniform() < beta)
          set.points.set(response.points.subarray(i * d, (i + 1) * d), i * d);
      }
    }
    this.steps += inner;
  }
}
