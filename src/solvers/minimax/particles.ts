// One player's particles and the Euler–Maruyama Langevin move every minimax algorithm is built from:
//   z ← z − s·(∇V(z) + κ·z) + √(2·T·s)·ξ,   ξ ~ N(0, I),
// with V the potential the player descends (the max player descends −f_μ), s the step, T the temperature
// and κ = T/σ² the pull of a Gaussian reference N(0, σ²I) (κ = 0 on the torus, where positions wrap).
import type { Random } from '../../lib/random.js';
import {
  createTrigTable,
  featureMeans,
  fillTrig,
  firstVariationCoefficients,
  potentialGradients,
  type TrigTable,
} from './kernels.js';
import { type BilinearObjective, featureCount } from './objectives.js';

const TWO_PI = 2 * Math.PI;

export class ParticleSet {
  readonly points: Float64Array;
  readonly table: TrigTable;
  private readonly gradient: Float64Array;
  private readonly coefficients: Float64Array;

  constructor(
    readonly objective: BilinearObjective,
    readonly count: number,
  ) {
    this.points = new Float64Array(count * objective.dimension);
    this.table = createTrigTable(objective, count);
    this.gradient = new Float64Array(count * objective.dimension);
    this.coefficients = new Float64Array(featureCount(objective));
  }

  static gaussian(objective: BilinearObjective, count: number, std: number, random: Random): ParticleSet {
    const set = new ParticleSet(objective, count);
    for (let i = 0; i < set.points.length; i++) set.points[i] = std * random.nextNormal();
    return set;
  }

  static uniformOnTorus(objective: BilinearObjective, count: number, random: Random): ParticleSet {
    const set = new ParticleSet(objective, count);
    for (let i = 0; i < set.points.length; i++) set.points[i] = TWO_PI * random.nextUniform();
    return set;
  }

  copy(): ParticleSet {
    const set = new ParticleSet(this.objective, this.count);
    set.points.set(this.points);
    return set;
  }

  /** Refreshes the cos/sin table after the points moved; the means and moves below read it. */
  refresh(): void {
    fillTrig(this.objective, this.points, this.count, this.table);
  }

  /** E[φ] over the particles (call refresh() first). */
  means(out: Float64Array): Float64Array {
    featureMeans(this.objective, this.table, this.count, out);
    return out;
  }

  /**
   * One Langevin move of this player against the other player's feature means `otherMeans` (the min player
   * descends g_ν, the max player ascends f_μ). Reads the table; call refresh() before the next use.
   */
  move(
    player: 'min' | 'max',
    otherMeans: Float64Array,
    step: number,
    temperature: number,
    confinement: number,
    random: Random,
    torus: boolean,
  ): void {
    firstVariationCoefficients(this.objective, otherMeans, player, this.coefficients);
    if (player === 'max')
      for (let j = 0; j < this.coefficients.length; j++)
        this.coefficients[j] = -(this.coefficients[j] as number);
    potentialGradients(this.objective, this.table, this.count, this.coefficients, this.gradient);
    const points = this.points;
    const gradient = this.gradient;
    const noise = Math.sqrt(2 * temperature * step);
    for (let i = 0; i < points.length; i++) {
      const z = points[i] as number;
      let next = z - step * ((gradient[i] as number) + confinement * z) + noise * random.nextNormal();
      if (torus) next -= TWO_PI * Math.floor(next / TWO_PI);
      points[i] = next;
    }
  }
}
