// A stationary, discounted, entropy-regularised mean-field game (meanfield.md §1.3; the setting of Policy
// Mirror Ascent, Yardim et al. 2023): S states, A actions, reward R(s, a; μ) and kernel P(s' | s, a; μ)
// that depend on the population's state law μ, a discount γ, and an initial law (where the population
// starts, both for the stationary-law iteration and for the N agents). Policies are flat S·A arrays.
import type { FiniteGame, Transition } from '../finite/game.js';

export interface StationaryGame {
  states: number;
  actions: number;
  discount: number;
  initial: Float64Array;
  /** R(·, ·; μ), length S·A. */
  reward(law: Float64Array): Float64Array;
  /** P(· | ·, ·; μ) in compressed rows. */
  transition(law: Float64Array): Transition;
  /** True when P does not depend on μ (the stationary law is then one linear solve). */
  kernelIgnoresLaw: boolean;
}

/**
 * The stationary form of a finite-horizon game whose reward and kernel depend on the state law only and
 * not on t (MFGLib's susceptible_infected and beach_bar): the finite game is asked at t = 0 with a joint
 * law whose state marginal is μ.
 */
export function stationaryFrom(
  finite: FiniteGame,
  discount: number,
  kernelIgnoresLaw: boolean,
): StationaryGame {
  const { states, actions } = finite;
  const jointLaw = (law: Float64Array) => {
    const joint = new Float64Array(states * actions);
    for (let s = 0; s < states; s++) joint.fill((law[s] as number) / actions, s * actions, (s + 1) * actions);
    return joint;
  };
  return {
    states,
    actions,
    discount,
    initial: finite.initial,
    reward: (law) => finite.reward(0, jointLaw(law)),
    transition: (law) => finite.transition(0, jointLaw(law)),
    kernelIgnoresLaw,
  };
}
