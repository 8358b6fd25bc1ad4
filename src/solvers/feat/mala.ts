// Metropolis-adjusted Langevin (Roberts & Tweedie 1996) on a batch of independent chains targeting
// ρ ∝ exp(−Σ_c w_c U_c): proposal y = x − τ∇U(x) + √(2τ) ξ, accepted with the Metropolis–Hastings ratio.
// Each chain caches every component's energy and gradient, so the weights can change (AIS, TI windows)
// without re-evaluating anything. Step-size adaptation, where used, scales τ by exp(acceptance − 0.574)
// after each step from the batch's acceptance (0.574: Roberts & Rosenthal's optimal MALA rate); it runs
// only in burn-in phases.
import type { Random } from '../../lib/random.js';
import type { Evaluations } from './counters.js';
import type { EndState } from './systems/end-state.js';

export const TARGET_ACCEPTANCE = 0.574;

export class LangevinChains {
  readonly dim: number;
  private weights: number[];
  private readonly energies: Float64Array[];
  private readonly gradients: Float64Array[];
  private readonly proposal: Float64Array;
  private readonly proposalEnergies: Float64Array;
  private readonly proposalGradients: Float64Array[];
  private readonly drift: Float64Array;
  private readonly proposalDrift: Float64Array;

  constructor(
    private readonly components: EndState[],
    /** count × d, updated in place. */
    readonly positions: Float64Array,
    readonly count: number,
    private readonly evaluations: Evaluations,
  ) {
    this.dim = (components[0] as EndState).dim;
    this.weights = components.map(() => 1 / components.length);
    const d = this.dim;
    this.energies = components.map(() => new Float64Array(count));
    this.gradients = components.map(() => new Float64Array(count * d));
    this.proposal = new Float64Array(d);
    this.proposalEnergies = new Float64Array(components.length);
    this.proposalGradients = components.map(() => new Float64Array(d));
    this.drift = new Float64Array(d);
    this.proposalDrift = new Float64Array(d);
    for (let i = 0; i < count; i++) {
      const x = positions.subarray(i * d, (i + 1) * d);
      components.forEach((component, c) => {
        (this.energies[c] as Float64Array)[i] = component.energy(
          x,
          (this.gradients[c] as Float64Array).subarray(i * d, (i + 1) * d),
        );
      });
    }
    evaluations.potential += count;
  }

  setWeights(weights: number[]): void {
    this.weights = weights;
  }

  /** Component c's energy at chain i's current position. */
  energy(component: number, chain: number): number {
    return (this.energies[component] as Float64Array)[chain] as number;
  }

  /** One MALA step of every chain; returns the fraction accepted. */
  step(random: Random, stepSize: number): number {
    const { dim: d, components, weights, proposal, drift, proposalDrift } = this;
    const noiseScale = Math.sqrt(2 * stepSize);
    let accepted = 0;
    for (let i = 0; i < this.count; i++) {
      const x = this.positions.subarray(i * d, (i + 1) * d);
      let current = 0;
      drift.fill(0);
      components.forEach((_, c) => {
        const w = weights[c] as number;
        current += w * ((this.energies[c] as Float64Array)[i] as number);
        const gradient = this.gradients[c] as Float64Array;
        for (let j = 0; j < d; j++) drift[j] = (drift[j] as number) + w * (gradient[i * d + j] as number);
      });
      for (let j = 0; j < d; j++) {
        proposal[j] = (x[j] as number) - stepSize * (drift[j] as number) + noiseScale * random.nextNormal();
      }
      let proposed = 0;
      proposalDrift.fill(0);
      components.forEach((component, c) => {
        const gradient = this.proposalGradients[c] as Float64Array;
        const energy = component.energy(proposal, gradient);
        this.proposalEnergies[c] = energy;
        const w = weights[c] as number;
        proposed += w * energy;
        for (let j = 0; j < d; j++)
          proposalDrift[j] = (proposalDrift[j] as number) + w * (gradient[j] as number);
      });
      // log q(x | y) − log q(y | x) for the Langevin proposal.
      let forward = 0;
      let backward = 0;
      for (let j = 0; j < d; j++) {
        const there = (proposal[j] as number) - (x[j] as number) + stepSize * (drift[j] as number);
        const back = (x[j] as number) - (proposal[j] as number) + stepSize * (proposalDrift[j] as number);
        forward += there * there;
        backward += back * back;
      }
      const logRatio = current - proposed + (forward - backward) / (4 * stepSize);
      if (Number.isFinite(proposed) && Math.log(random.nextUniform()) < logRatio) {
        accepted++;
        x.set(proposal);
        components.forEach((_, c) => {
          (this.energies[c] as Float64Array)[i] = this.proposalEnergies[c] as number;
          (this.gradients[c] as Float64Array).set(this.proposalGradients[c] as Float64Array, i * d);
        });
      }
    }
    this.evaluations.potential += this.count;
    return accepted / this.count;
  }
}

/** τ after one burn-in step with this acceptance, kept within [1e-8, 10]. */
export function adaptStepSize(stepSize: number, acceptance: number): number {
  return Math.min(10, Math.max(1e-8, stepSize * Math.exp(acceptance - TARGET_ACCEPTANCE)));
}

export interface McmcSettings {
  /** Burn-in steps; τ adapts during the first half and stays fixed in the second. */
  steps: number;
  /** Initial τ. */
  stepSize: number;
}

export interface McmcReport {
  steps: number;
  step_size: number;
  acceptance: number;
}

/**
 * `count` samples of an end state: exact when it has a sampler, otherwise the final states of `count`
 * independent MALA chains started at the state's mcmcStart after `settings.steps` steps.
 */
export async function sampleEndState(
  state: EndState,
  count: number,
  random: Random,
  settings: McmcSettings,
  evaluations: Evaluations,
  onStep: (step: number) => Promise<void>,
): Promise<{ samples: Float64Array; mcmc?: McmcReport }> {
  if (state.sample !== undefined) return { samples: state.sample(random, count) };
  if (state.mcmcStart === undefined) throw new Error('the state has neither a sampler nor an MCMC start');
  const chains = new LangevinChains([state], state.mcmcStart(random, count), count, evaluations);
  let stepSize = settings.stepSize;
  let acceptance = 0;
  let acceptedLate = 0;
  const adaptUntil = Math.floor(settings.steps / 2);
  for (let step = 0; step < settings.steps; step++) {
    acceptance = chains.step(random, stepSize);
    if (step < adaptUntil) stepSize = adaptStepSize(stepSize, acceptance);
    else acceptedLate += acceptance;
    await onStep(step);
  }
  const late = settings.steps - adaptUntil;
  return {
    samples: chains.positions,
    mcmc: {
      steps: settings.steps,
      step_size: stepSize,
      acceptance: late > 0 ? acceptedLate / late : acceptance,
    },
  };
}
