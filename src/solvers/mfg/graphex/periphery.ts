// The periphery of the hybrid graphex MFG (meanfield.md §3): an agent of degree k whose neighbours' states
// are i.i.d. from the core neighbourhood field G_t, so its neighbourhood composition g ∈ 𝔾^k is
// Multinomial(k, G_t) afresh at each t, independent of its own state (the periphery does not influence the
// core). The agent observes (t, s, g) and its policy is π_k(a | t, s, g). For each degree this is a
// finite-horizon MDP solved by backward induction with the closed-form expectation over 𝔾^k:
//   Q_T(s, g, a) = r(s, a, g/k),
//   Q_t(s, g, a) = r(s, a, g/k) + Σ_{s'} P(s' | s, a, g/k) Σ_{g'} Mult(g'; k, G_{t+1}) v_{t+1}(s', g'),
// v = max_a Q (best response) or Σ_a π Q (the policy's value). Arrays are flat over [t][s][g][a].
import type { GraphGame } from './game.js';
import { type Compositions, compositions, multinomialWeights } from './neighbourhoods.js';

/** One degree's MDP pieces that do not depend on the field: kernel and reward per (s, g, a). */
export interface DegreeModel {
  game: GraphGame;
  degree: number;
  neighbourhood: Compositions;
  /** S·|𝔾^k|·A rows of S next-state probabilities. */
  kernel: Float64Array;
  /** S·|𝔾^k|·A rewards. */
  reward: Float64Array;
}

export function degreeModel(game: GraphGame, degree: number): DegreeModel {
  const { states, actions } = game;
  const neighbourhood = compositions(degree, states);
  const rows = states * neighbourhood.count * actions;
  const kernel = new Float64Array(rows * states);
  const reward = new Float64Array(rows);
  const out = new Float64Array(states);
  for (let s = 0; s < states; s++) {
    for (let g = 0; g < neighbourhood.count; g++) {
      const fractions = neighbourhood.fractions.subarray(g * states, (g + 1) * states);
      for (let a = 0; a < actions; a++) {
        const row = (s * neighbourhood.count + g) * actions + a;
        game.transition(s, a, fractions, out);
        kernel.set(out, row * states);
        reward[row] = game.reward(s, a, fractions);
      }
    }
  }
  return { game, degree, neighbourhood, kernel, reward };
}

/** Mult(g; k, G_t) for every t, (T + 1)·|𝔾^k|, from the periphery field over time ((T + 1)·S). */
export function compositionLaws(model: DegreeModel, field: Float64Array): Float64Array {
  const { horizon, states } = model.game;
  const count = model.neighbourhood.count;
  const laws = new Float64Array((horizon + 1) * count);
  for (let t = 0; t <= horizon; t++) {
    multinomialWeights(
      model.neighbourhood,
      field.subarray(t * states, (t + 1) * states),
      laws.subarray(t * count, (t + 1) * count),
    );
  }
  return laws;
}

/**
 * Backward induction. With `policy` undefined, v = max_a Q (the best response's Q*); with a policy,
 * v = Σ_a π Q (its Q^π). One loop for both keeps the hot path free of callbacks.
 */
function backward(model: DegreeModel, laws: Float64Array, policy?: Float64Array): Float64Array {
  const { horizon, states, actions } = model.game;
  const { kernel, reward } = model;
  const count = model.neighbourhood.count;
  const contexts = states * count;
  const width = contexts * actions;
  const q = new Float64Array((horizon + 1) * width);
  q.set(reward, horizon * width);
  const expected = new Float64Array(states);
  for (let t = horizon - 1; t >= 0; t--) {
    // E_{g'}[v_{t+1}(s', g')] per s'.
    const lawOffset = (t + 1) * count;
    const nextOffset = (t + 1) * width;
    for (let s = 0; s < states; s++) {
      let sum = 0;
      for (let g = 0; g < count; g++) {
        const offset = nextOffset + (s * count + g) * actions;
        let value: number;
        if (policy === undefined) {
          value = -Infinity;
          for (let a = 0; a < actions; a++) value = Math.max(value, q[offset + a] as number);
        } else {
          value = 0;
          for (let a = 0; a < actions; a++)
            value += (policy[offset + a] as number) * (q[offset + a] as number);
        }
        sum += (laws[lawOffset + g] as number) * value;
      }
      expected[s] = sum;
    }
    const base = t * width;
    for (let row = 0; row < width; row++) {
      let future = 0;
      for (let next = 0; next < states; next++) {
        future += (kernel[row * states + next] as number) * (expected[next] as number);
      }
      q[base + row] = (reward[row] as number) + future;
    }
  }
  return q;
}

/** Q*_t(s, g, a) of the best response against the field whose composition laws are `laws`. */
export function peripheryOptimalQ(model: DegreeModel, laws: Float64Array): Float64Array {
  return backward(model, laws);
}

/** Q^π_t(s, g, a) of the periphery policy π (flat [t][s][g][a]). */
export function peripheryPolicyQ(model: DegreeModel, laws: Float64Array, policy: Float64Array): Float64Array {
  return backward(model, laws, policy);
}

/** The state law μ^k_t of degree-k agents under π, (T + 1)·S. */
export function peripheryLaw(model: DegreeModel, laws: Float64Array, policy: Float64Array): Float64Array {
  const { horizon, states, actions, initial } = model.game;
  const count = model.neighbourhood.count;
  const width = states * count * actions;
  const law = new Float64Array((horizon + 1) * states);
  law.set(initial);
  for (let t = 0; t < horizon; t++) {
    const compositionLaw = laws.subarray(t * count, (t + 1) * count);
    for (let s = 0; s < states; s++) {
      const mass = law[t * states + s] as number;
      if (mass === 0) continue;
      for (let g = 0; g < count; g++) {
        const contextMass = mass * (compositionLaw[g] as number);
        if (contextMass === 0) continue;
        for (let a = 0; a < actions; a++) {
          const row = (s * count + g) * actions + a;
          const flow = contextMass * (policy[t * width + row] as number);
          if (flow === 0) continue;
          for (let next = 0; next < states; next++) {
            const i = (t + 1) * states + next;
            law[i] = (law[i] as number) + flow * (model.kernel[row * states + next] as number);
          }
        }
      }
    }
  }
  return law;
}

/** Everything one evaluation of a degree's policy computes. */
export interface DegreeEvaluation {
  degree: number;
  policy: Float64Array;
  optimal: Float64Array;
  onPolicy: Float64Array;
  law: Float64Array;
  bestResponseValue: number;
  policyValue: number;
  exploitability: number;
}

export function evaluateDegree(
  model: DegreeModel,
  laws: Float64Array,
  policy: Float64Array,
  optimal = peripheryOptimalQ(model, laws),
): DegreeEvaluation {
  const { states, actions, initial } = model.game;
  const count = model.neighbourhood.count;
  const onPolicy = peripheryPolicyQ(model, laws, policy);
  let bestResponseValue = 0;
  let policyValue = 0;
  for (let s = 0; s < states; s++) {
    for (let g = 0; g < count; g++) {
      const weight = (initial[s] as number) * (laws[g] as number);
      if (weight === 0) continue;
      const offset = (s * count + g) * actions;
      let best = -Infinity;
      let own = 0;
      for (let a = 0; a < actions; a++) {
        best = Math.max(best, optimal[offset + a] as number);
        own += (policy[offset + a] as number) * (onPolicy[offset + a] as number);
      }
      bestResponseValue += weight * best;
      policyValue += weight * own;
    }
  }
  return {
    degree: model.degree,
    policy,
    optimal,
    onPolicy,
    law: peripheryLaw(model, laws, policy),
    bestResponseValue,
    policyValue,
    exploitability: bestResponseValue - policyValue,
  };
}
