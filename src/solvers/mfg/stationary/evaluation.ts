// Exact quantities of the stationary entropy-regularised game (meanfield.md §1.3), all in float64:
// the stationary law μ_π (fixed point of Γ_pop), the regularised value V^π_λ(·|μ) by a linear solve of
// (I − γP_π)V = r_π + λh(π), the regularised optimum V*_λ(·|μ) by soft policy iteration, and the
// exploitability E_{s~μ_π}[V*_λ(s|μ_π) − V^π_λ(s|μ_π)], which is 0 exactly at the regularised MFG-NE.
import type { Transition } from '../finite/game.js';
import type { StationaryGame } from './game.js';
import { solveLinear } from './linear-solve.js';

/** The game frozen at one population law: what a single agent faces. */
export interface FrozenGame {
  game: StationaryGame;
  reward: Float64Array;
  kernel: Transition;
}

export function freeze(game: StationaryGame, law: Float64Array): FrozenGame {
  return { game, reward: game.reward(law), kernel: game.transition(law) };
}

/** h(π(·|s)) = −Σ_a π log π per state (0·log 0 = 0). */
export function entropies(policy: Float64Array, states: number, actions: number): Float64Array {
  const out = new Float64Array(states);
  for (let s = 0; s < states; s++) {
    let sum = 0;
    for (let a = 0; a < actions; a++) {
      const p = policy[s * actions + a] as number;
      if (p > 0) sum -= p * Math.log(p);
    }
    out[s] = sum;
  }
  return out;
}

/** P_π(s, s') = Σ_a π(a|s) P(s'|s, a), dense row-major S×S. */
function policyKernel(
  kernel: Transition,
  policy: Float64Array,
  states: number,
  actions: number,
): Float64Array {
  const out = new Float64Array(states * states);
  for (let s = 0; s < states; s++) {
    for (let a = 0; a < actions; a++) {
      const row = s * actions + a;
      const weight = policy[row] as number;
      if (weight === 0) continue;
      for (let k = kernel.offsets[row] as number; k < (kernel.offsets[row + 1] as number); k++) {
        const target = s * states + (kernel.next[k] as number);
        out[target] = (out[target] as number) + weight * (kernel.prob[k] as number);
      }
    }
  }
  return out;
}

/** V^π_λ(·|μ): the linear solve of (I − γP_π)V = r_π + λh(π); nonsingular for γ < 1. */
export function regularisedValue(frozen: FrozenGame, policy: Float64Array, lambda: number): Float64Array {
  const { states, actions, discount } = frozen.game;
  const matrix = policyKernel(frozen.kernel, policy, states, actions);
  for (let i = 0; i < matrix.length; i++) matrix[i] = -discount * (matrix[i] as number);
  for (let s = 0; s < states; s++) matrix[s * states + s] = 1 + (matrix[s * states + s] as number);
  const right = entropies(policy, states, actions);
  for (let s = 0; s < states; s++) {
    let reward = 0;
    for (let a = 0; a < actions; a++)
      reward += (policy[s * actions + a] as number) * (frozen.reward[s * actions + a] as number);
    right[s] = reward + lambda * (right[s] as number);
  }
  const value = solveLinear(matrix, right);
  if (value === undefined) throw new Error('I − γP_π is singular; the discount must be below 1');
  return value;
}

/** Q(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V(s'). */
export function qFromValue(frozen: FrozenGame, value: Float64Array): Float64Array {
  const { states, actions, discount } = frozen.game;
  const { offsets, next, prob } = frozen.kernel;
  const q = new Float64Array(states * actions);
  for (let row = 0; row < q.length; row++) {
    let expected = 0;
    for (let k = offsets[row] as number; k < (offsets[row + 1] as number); k++)
      expected += (prob[k] as number) * (value[next[k] as number] as number);
    q[row] = (frozen.reward[row] as number) + discount * expected;
  }
  return q;
}

/** softmax(q/λ) per state, with the row maximum subtracted. */
export function softmaxOf(q: Float64Array, actions: number, lambda: number): Float64Array {
  const out = new Float64Array(q.length);
  for (let row = 0; row < q.length; row += actions) {
    let best = -Infinity;
    for (let a = 0; a < actions; a++) best = Math.max(best, q[row + a] as number);
    let sum = 0;
    for (let a = 0; a < actions; a++) {
      const weight = Math.exp(((q[row + a] as number) - best) / lambda);
      out[row + a] = weight;
      sum += weight;
    }
    for (let a = 0; a < actions; a++) out[row + a] = (out[row + a] as number) / sum;
  }
  return out;
}

const SOFT_ITERATION_TOLERANCE = 1e-13;
const SOFT_ITERATION_LIMIT = 500;

/**
 * The regularised best response and its value V*_λ(·|μ), by soft policy iteration (π ← softmax(Q^π/λ),
 * evaluated exactly): it improves monotonically to the soft Bellman fixed point
 * V*(s) = λ log Σ_a exp(Q*(s, a)/λ), and needs a handful of solves where soft value iteration would need
 * O(1/(1 − γ)) sweeps.
 */
export function regularisedBestResponse(
  frozen: FrozenGame,
  lambda: number,
): { policy: Float64Array; value: Float64Array; q: Float64Array } {
  const { states, actions } = frozen.game;
  let policy: Float64Array = new Float64Array(states * actions).fill(1 / actions);
  let value = regularisedValue(frozen, policy, lambda);
  for (let iteration = 0; iteration < SOFT_ITERATION_LIMIT; iteration++) {
    policy = softmaxOf(qFromValue(frozen, value), actions, lambda);
    const improved = regularisedValue(frozen, policy, lambda);
    let change = 0;
    for (let s = 0; s < states; s++)
      change = Math.max(change, Math.abs((improved[s] as number) - (value[s] as number)));
    value = improved;
    if (change <= SOFT_ITERATION_TOLERANCE * Math.max(1, Math.abs(value[0] as number))) break;
  }
  return { policy, value, q: qFromValue(frozen, value) };
}

export interface StationaryLaw {
  law: Float64Array;
  /** ‖Γ_pop(μ, π) − μ‖₁ at the returned law. */
  residual: number;
  iterations: number;
}

const LAW_TOLERANCE = 1e-14;
// Only chains with several stationary laws (near-deterministic policies) iterate Γ_pop; bounded so such a
// policy costs milliseconds, and the residual it leaves is reported.
const LAW_ITERATION_LIMIT = 20_000;

/** One application of Γ_pop(μ, π)(s') = Σ_{s,a} μ(s)π(a|s)P(s'|s, a; μ). */
export function populationStep(game: StationaryGame, policy: Float64Array, law: Float64Array): Float64Array {
  const { states, actions } = game;
  const { offsets, next, prob } = game.transition(law);
  const out = new Float64Array(states);
  for (let s = 0; s < states; s++) {
    const mass = law[s] as number;
    if (mass === 0) continue;
    for (let a = 0; a < actions; a++) {
      const row = s * actions + a;
      const weight = mass * (policy[row] as number);
      for (let k = offsets[row] as number; k < (offsets[row + 1] as number); k++) {
        const target = next[k] as number;
        out[target] = (out[target] as number) + weight * (prob[k] as number);
      }
    }
  }
  return out;
}

/** The stationary law of the chain P_π frozen at μ, by one solve; undefined when it is not unique. */
function frozenStationaryLaw(
  game: StationaryGame,
  policy: Float64Array,
  law: Float64Array,
): Float64Array | undefined {
  const { states, actions } = game;
  const chain = policyKernel(game.transition(law), policy, states, actions);
  // (I − P_πᵀ)x = 0 with the last equation replaced by Σx = 1.
  const matrix = new Float64Array(states * states);
  for (let i = 0; i < states; i++) {
    for (let j = 0; j < states; j++)
      matrix[i * states + j] = (i === j ? 1 : 0) - (chain[j * states + i] as number);
  }
  matrix.fill(1, (states - 1) * states);
  const right = new Float64Array(states);
  right[states - 1] = 1;
  const solution = solveLinear(matrix, right);
  if (solution === undefined || solution.some((p) => p < -1e-12)) return undefined;
  for (let s = 0; s < states; s++) solution[s] = Math.max(0, solution[s] as number);
  const total = solution.reduce((sum, p) => sum + p, 0);
  return solution.map((p) => p / total);
}

function distance(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum;
}

/**
 * μ_π: the fixed point of Γ_pop(·, π) reached from `start`. Each step replaces μ by the stationary law of the
 * chain frozen at μ (one solve; for a kernel that ignores μ that is already the answer), which has the same
 * fixed points as iterating Γ_pop but needs no mixing time. Where the frozen chain has several stationary
 * laws it falls back to plain Γ_pop steps, which pick the one `start` leads to.
 */
export function stationaryLaw(
  game: StationaryGame,
  policy: Float64Array,
  start: Float64Array,
): StationaryLaw {
  const finish = (law: Float64Array, iterations: number): StationaryLaw => ({
    law,
    residual: distance(populationStep(game, policy, law), law),
    iterations,
  });
  let law = start;
  let solvable = true;
  for (let iteration = 1; iteration <= LAW_ITERATION_LIMIT; iteration++) {
    const solved: Float64Array | undefined = solvable ? frozenStationaryLaw(game, policy, law) : undefined;
    if (solved !== undefined && game.kernelIgnoresLaw) return finish(solved, iteration);
    // Once a frozen chain has several stationary laws, plain Γ_pop steps decide which one start leads to.
    solvable = solved !== undefined;
    const next = solved ?? populationStep(game, policy, law);
    const change = distance(next, law);
    law = next;
    if (change <= LAW_TOLERANCE) return finish(law, iteration);
  }
  return finish(law, LAW_ITERATION_LIMIT);
}

export interface StationaryEvaluation {
  exploitability: number;
  law: StationaryLaw;
  /** E_{μ_π} V*_λ and E_{μ_π} V^π_λ. */
  bestResponseValue: number;
  policyValue: number;
  /** Q^π_λ(·|μ_π), what the PMA step ascends. */
  q: Float64Array;
}

/** Exploitability of π against its own stationary law, reached from `start` (default the game's initial law). */
export function evaluateStationary(
  game: StationaryGame,
  policy: Float64Array,
  lambda: number,
  start: Float64Array = game.initial,
): StationaryEvaluation {
  const law = stationaryLaw(game, policy, start);
  const frozen = freeze(game, law.law);
  const value = regularisedValue(frozen, policy, lambda);
  const best = regularisedBestResponse(frozen, lambda);
  let bestResponseValue = 0;
  let policyValue = 0;
  for (let s = 0; s < game.states; s++) {
    bestResponseValue += (law.law[s] as number) * (best.value[s] as number);
    policyValue += (law.law[s] as number) * (value[s] as number);
  }
  return {
    exploitability: bestResponseValue - policyValue,
    law,
    bestResponseValue,
    policyValue,
    q: qFromValue(frozen, value),
  };
}
