// The five policy updates of mfg.finite. Each step takes the evaluation of the current policy π_k (its
// mean field, Q* and Q^π against it, meanfield.md §1.1) and returns π_{k+1}:
//   online_mirror_descent  y ← y + α·Q^{π_k}, π = softmax(y)        (MFGLib OnlineMirrorDescent; OpenSpiel's
//                          MirrorDescent without its aliasing quirk, = MunchausenMirrorDescent, §6.1)
//   fictitious_play        BR = greedy(Q*) (or softmax(Q*/τ)); π ← [(1−a)μπ + a·μ_BR·BR] / [(1−a)μ + a·μ_BR]
//                          per (t, s), a = 1/(k+2) unless fixed (MFGLib FictitiousPlay, OpenSpiel FP)
//   prior_descent          π ∝ q·exp(Q*/η), prior q reset to π every n_inner steps (MFGLib PriorDescent;
//                          without n_inner it is GMF-V / Boltzmann iteration on Q*)
//   fixed_point            π = greedy(Q*) (or softmax(Q*/τ)) (OpenSpiel FixedPoint)
//   boltzmann_policy_iteration  π ∝ exp(lr·Q^{π_k}) (OpenSpiel BoltzmannPolicyIteration)
import type { Evaluation } from './evaluation.js';
import { meanField } from './evaluation.js';
import { type FiniteGame, stateMarginal } from './game.js';
import { greedyPolicy, softmaxPolicy } from './policies.js';

export type AlgorithmParams =
  | { name: 'online_mirror_descent'; step?: number }
  | { name: 'fictitious_play'; alpha?: number; temperature?: number }
  | { name: 'prior_descent'; eta?: number; n_inner?: number }
  | { name: 'fixed_point'; temperature?: number }
  | { name: 'boltzmann_policy_iteration'; step?: number };

export type Ties = 'uniform' | 'first';

/** One algorithm's state across iterations. */
export type PolicyUpdate = (current: Evaluation) => Float64Array;

function bestResponse(current: Evaluation, actions: number, ties: Ties, temperature: number | undefined) {
  return temperature === undefined
    ? greedyPolicy(current.optimal, actions, ties)
    : softmaxPolicy(current.optimal, actions, 1 / temperature);
}

export function policyUpdate(game: FiniteGame, params: AlgorithmParams, ties: Ties): PolicyUpdate {
  const { actions } = game;
  switch (params.name) {
    case 'online_mirror_descent': {
      const step = params.step ?? 1;
      let cumulative: Float64Array | undefined;
      return (current) => {
        cumulative ??= new Float64Array(current.onPolicy.length);
        for (let i = 0; i < cumulative.length; i++) {
          cumulative[i] = (cumulative[i] as number) + step * (current.onPolicy[i] as number);
        }
        return softmaxPolicy(cumulative, actions, 1);
      };
    }
    case 'fictitious_play': {
      let iteration = 0;
      return (current) => {
        const response = bestResponse(current, actions, ties, params.temperature);
        const weight = params.alpha !== undefined && params.alpha > 0 ? params.alpha : 1 / (iteration + 2);
        iteration++;
        return mixByStateLaw(game, current.policy, current.environment.jointLaw, response, weight);
      };
    }
    case 'prior_descent': {
      const eta = params.eta ?? 1;
      let iteration = 0;
      let prior: Float64Array | undefined;
      return (current) => {
        prior ??= current.policy;
        const next = softmaxPolicy(current.optimal, actions, 1 / eta, prior);
        if (params.n_inner !== undefined && (iteration + 2) % params.n_inner === 0) prior = next;
        iteration++;
        return next;
      };
    }
    case 'fixed_point':
      return (current) => bestResponse(current, actions, ties, params.temperature);
    case 'boltzmann_policy_iteration': {
      const step = params.step ?? 1;
      return (current) => softmaxPolicy(current.onPolicy, actions, step);
    }
  }
}

/**
 * The state-wise mixture of two policies weighted by the state laws they induce: the policy whose mean
 * field is (1 − w)·Γ(π) + w·Γ(BR). A state neither reaches gets the uniform row, as both libraries do.
 */
function mixByStateLaw(
  game: FiniteGame,
  policy: Float64Array,
  law: Float64Array,
  response: Float64Array,
  weight: number,
): Float64Array {
  const { horizon, states, actions } = game;
  const width = states * actions;
  const responseLaw = meanField(game, response);
  const out = new Float64Array(policy.length);
  for (let t = 0; t <= horizon; t++) {
    const mu = stateMarginal(law.subarray(t * width, (t + 1) * width), states, actions);
    const muResponse = stateMarginal(responseLaw.subarray(t * width, (t + 1) * width), states, actions);
    for (let s = 0; s < states; s++) {
      const keep = (1 - weight) * (mu[s] as number);
      const join = weight * (muResponse[s] as number);
      const denominator = keep + join;
      for (let a = 0; a < actions; a++) {
        const i = t * width + s * actions + a;
        out[i] =
          denominator > 0
            ? (keep * (policy[i] as number) + join * (response[i] as number)) / denominator
            : 1 / actions;
      }
    }
  }
  return out;
}
