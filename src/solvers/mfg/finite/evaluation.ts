// Policy → mean field → Q-functions → exploitability, in MFGLib's convention (meanfield.md §1.1, MFGLib
// mfglib/utils.py, alg/q_fn.py, scoring.py): L_0 = μ_0·π_0, L_{t+1}(s', a') = π_{t+1}(s', a')·Σ L_t P_t;
// Q_T = R_T, Q_t = R_t + P_t v_{t+1} undiscounted; exploitability = Σ_s μ_0(s)[max_a Q*_0 − Σ_a π_0 Q^π_0]
// with both Q's against L = Γ(π). Policies and laws are flat Float64Arrays of (T+1)·S·A.
import type { FiniteGame, Transition } from './game.js';

/** The game's rewards and kernels along one mean field, computed once and shared by both Q's. */
export interface Environment {
  game: FiniteGame;
  jointLaw: Float64Array;
  rewards: Float64Array[];
  transitions: Transition[];
}

export function meanField(game: FiniteGame, policy: Float64Array): Float64Array {
  const { horizon, states, actions } = game;
  const width = states * actions;
  const law = new Float64Array((horizon + 1) * width);
  for (let s = 0; s < states; s++) {
    for (let a = 0; a < actions; a++)
      law[s * actions + a] = (game.initial[s] as number) * (policy[s * actions + a] as number);
  }
  const arriving = new Float64Array(states);
  for (let t = 0; t < horizon; t++) {
    const current = law.subarray(t * width, (t + 1) * width);
    const kernel = game.transition(t, current);
    arriving.fill(0);
    for (let row = 0; row < width; row++) {
      const mass = current[row] as number;
      if (mass === 0) continue;
      for (let k = kernel.offsets[row] as number; k < (kernel.offsets[row + 1] as number); k++) {
        const target = kernel.next[k] as number;
        arriving[target] = (arriving[target] as number) + mass * (kernel.prob[k] as number);
      }
    }
    const base = (t + 1) * width;
    for (let s = 0; s < states; s++) {
      for (let a = 0; a < actions; a++) {
        law[base + s * actions + a] = (policy[base + s * actions + a] as number) * (arriving[s] as number);
      }
    }
  }
  return law;
}

export function environmentAlong(game: FiniteGame, jointLaw: Float64Array): Environment {
  const width = game.states * game.actions;
  const rewards: Float64Array[] = [];
  const transitions: Transition[] = [];
  for (let t = 0; t <= game.horizon; t++) {
    const slice = jointLaw.subarray(t * width, (t + 1) * width);
    rewards.push(game.reward(t, slice));
    if (t < game.horizon) transitions.push(game.transition(t, slice));
  }
  return { game, jointLaw, rewards, transitions };
}

/**
 * Backward induction. `continuation(t, q, out)` writes v_{t+1}(s) from Q_{t+1}: the max over actions for
 * the optimal Q, the policy average for policy evaluation.
 */
function backward(
  environment: Environment,
  continuation: (t: number, qNext: Float64Array, out: Float64Array) => void,
): Float64Array {
  const { horizon, states, actions } = environment.game;
  const width = states * actions;
  const q = new Float64Array((horizon + 1) * width);
  q.set(environment.rewards[horizon] as Float64Array, horizon * width);
  const value = new Float64Array(states);
  for (let t = horizon - 1; t >= 0; t--) {
    continuation(t + 1, q.subarray((t + 1) * width, (t + 2) * width), value);
    const reward = environment.rewards[t] as Float64Array;
    const kernel = environment.transitions[t] as Transition;
    const base = t * width;
    for (let row = 0; row < width; row++) {
      let expected = 0;
      for (let k = kernel.offsets[row] as number; k < (kernel.offsets[row + 1] as number); k++) {
        expected += (kernel.prob[k] as number) * (value[kernel.next[k] as number] as number);
      }
      q[base + row] = (reward[row] as number) + expected;
    }
  }
  return q;
}

/** Q*_t(s, a) against the frozen mean field. */
export function optimalQ(environment: Environment): Float64Array {
  const { actions } = environment.game;
  return backward(environment, (_t, qNext, out) => {
    for (let s = 0; s < out.length; s++) {
      let best = -Infinity;
      for (let a = 0; a < actions; a++) best = Math.max(best, qNext[s * actions + a] as number);
      out[s] = best;
    }
  });
}

/** Q^π_t(s, a) against the frozen mean field. */
export function policyQ(environment: Environment, policy: Float64Array): Float64Array {
  const { states, actions } = environment.game;
  const width = states * actions;
  return backward(environment, (t, qNext, out) => {
    for (let s = 0; s < out.length; s++) {
      let sum = 0;
      for (let a = 0; a < actions; a++) {
        sum += (policy[t * width + s * actions + a] as number) * (qNext[s * actions + a] as number);
      }
      out[s] = sum;
    }
  });
}

/** Everything one exploitability evaluation computes; the algorithms' next step reuses it. */
export interface Evaluation {
  policy: Float64Array;
  environment: Environment;
  optimal: Float64Array;
  onPolicy: Float64Array;
  /** Σ μ_0 max_a Q*_0: the best response's value. */
  bestResponseValue: number;
  /** Σ μ_0 Σ_a π_0 Q^π_0: the policy's own value. */
  policyValue: number;
  exploitability: number;
}

export function evaluate(game: FiniteGame, rawPolicy: Float64Array): Evaluation {
  const policy = feasiblePolicy(rawPolicy, game.actions);
  const environment = environmentAlong(game, meanField(game, policy));
  const optimal = optimalQ(environment);
  const onPolicy = policyQ(environment, policy);
  const { states, actions } = game;
  let bestResponseValue = 0;
  let policyValue = 0;
  for (let s = 0; s < states; s++) {
    let best = -Infinity;
    let own = 0;
    for (let a = 0; a < actions; a++) {
      best = Math.max(best, optimal[s * actions + a] as number);
      own += (policy[s * actions + a] as number) * (onPolicy[s * actions + a] as number);
    }
    bestResponseValue += (game.initial[s] as number) * best;
    policyValue += (game.initial[s] as number) * own;
  }
  return {
    policy,
    environment,
    optimal,
    onPolicy,
    bestResponseValue,
    policyValue,
    exploitability: bestResponseValue - policyValue,
  };
}

/** MFGLib scores a policy after clipping negatives to 0 and renormalising rows; an all-zero row is uniform. */
export function feasiblePolicy(policy: Float64Array, actions: number): Float64Array {
  const out = new Float64Array(policy.length);
  for (let row = 0; row < policy.length; row += actions) {
    let sum = 0;
    for (let a = 0; a < actions; a++) sum += Math.max(policy[row + a] as number, 0);
    for (let a = 0; a < actions; a++) {
      out[row + a] =
        sum > 0 && Number.isFinite(sum) ? Math.max(policy[row + a] as number, 0) / sum : 1 / actions;
    }
  }
  return out;
}
