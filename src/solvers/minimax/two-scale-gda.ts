// Two-scale mean-field gradient descent–ascent on the torus with entropy regularisation (Yulong Lu, "Two-Scale
// Gradient Descent Ascent Dynamics Finds Mixed Nash Equilibria of Continuous Games: A Mean-Field Perspective",
// ICML 2023; the particle discretisation of our notes §5):
//   x_i ← x_i − h·∇ₓ∫Q(x_i, y)dν_N(y) + √(2τh)·ξ,
//   y_j ← y_j + ηh·∇_y∫Q(x, y_j)dμ_N(x) + √(2τηh)·ξ',
// both players from the measures before the step, positions wrapped to [0, 2π)^d. η is the scale ratio
// (η > 1: the max player is faster). With annealing the temperature is τ_t = C / log(t + e) at time t = k·h,
// the logarithmic schedule under which Lu shows convergence to the unregularised mixed Nash equilibrium.
// The exact constants of the scale condition are not checked here (our notes mark them unverified).
import type { Random } from '../../lib/random.js';
import { type BilinearObjective, featureCount } from './objectives.js';
import { ParticleSet } from './particles.js';

export interface TwoScaleSettings {
  objective: BilinearObjective;
  particles: number;
  /** Step h of the min player; the max player's is ηh. */
  h: number;
  /** Scale ratio η. */
  eta: number;
  /** Fixed τ, or the annealing constant C of τ_t = C / log(t + e). */
  temperature: { fixed: number } | { annealing: number };
}

/** τ at time t = step·h. */
export function temperatureAt(settings: TwoScaleSettings, step: number): number {
  const schedule = settings.temperature;
  return 'fixed' in schedule ? schedule.fixed : schedule.annealing / Math.log(step * settings.h + Math.E);
}

export class TwoScaleGda {
  steps = 0;
  readonly min: ParticleSet;
  readonly max: ParticleSet;
  private readonly meansMin: Float64Array;
  private readonly meansMax: Float64Array;

  constructor(
    private readonly settings: TwoScaleSettings,
    private readonly random: Random,
  ) {
    // Both players start uniform on the torus: the reference of entropy regularisation.
    this.min = ParticleSet.uniformOnTorus(settings.objective, settings.particles, random);
    this.max = ParticleSet.uniformOnTorus(settings.objective, settings.particles, random);
    this.meansMin = new Float64Array(featureCount(settings.objective));
    this.meansMax = new Float64Array(featureCount(settings.objective));
  }

  /** The temperature of the next step (and of the measures after `steps` steps). */
  get temperature(): number {
    return temperatureAt(this.settings, this.steps);
  }

  advance(untilStep: number): void {
    const { h, eta } = this.settings;
    while (this.steps < untilStep) {
      const tau = this.temperature;
      this.min.refresh();
      this.max.refresh();
      this.min.means(this.meansMin);
      this.max.means(this.meansMax);
      this.min.move('min', this.meansMax, h, tau, 0, this.random, true);
      this.max.move('max', this.meansMin, eta * h, tau, 0, this.random, true);
      this.steps++;
    }
  }
}
