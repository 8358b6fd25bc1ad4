// A two-player zero-sum discounted Markov game with continuous actions, the application of Kim, Yamamoto,
// Oko, Yang & Suzuki, "Symmetric Mean-field Langevin Dynamics for Distributional Minimax Problems" (ICLR
// 2024, arXiv:2312.01127): finite states s, actions x (min player) and y (max player) on the line, and in
// each state a mixed strategy per player, μ_s and ν_s. The game is KL-regularised as the paper's minimax
// problems are: the value of stationary strategies (μ, ν) is
//   V^{μ,ν}(s) = E[Σ_t γ^t (r(s_t, x_t, y_t) + λKL(μ_{s_t}|ρ) − λKL(ν_{s_t}|ρ))],
// so in state s the players face the stage game Q^V_s(x, y) = r(s, x, y) + γ Σ_{s'} P(s'|s, x, y) V(s').
// Rewards and transitions are finite-feature in (x, y), r(s,·,·) = φᵀR_sφ and P(s'|s,·,·) = φᵀP_{ss'}φ, so
// every stage game is a bilinear objective of objectives.ts and the grid machinery of the other minimax jobs
// (Gibbs best responses, the damped equilibrium solver) applies to it unchanged.
import { type BilinearObjective, createObjective } from './objectives.js';

export interface MarkovGame {
  name: string;
  states: number;
  /** γ. */
  discount: number;
  /** The frequency dictionary of φ (1-D: φ(x) = (1, cos ωx, sin ωx, …)). */
  frequencies: number[][];
  /** R_s, (2K + 1) × (2K + 1) each. */
  rewards: number[][][];
  /** P_{ss'}, states × states matrices of (2K + 1) × (2K + 1); Σ_{s'} φᵀP_{ss'}φ = 1 everywhere. */
  transitions: number[][][][];
}

const FEATURES = 3; // (1, cos x, sin x)

/** φᵀAφ of a·cos(x − y − c) + b·sin x, on φ = (1, cos x, sin x). */
function shiftedCosine(a: number, c: number, b: number): number[][] {
  const matrix = Array.from({ length: FEATURES }, () => new Array<number>(FEATURES).fill(0));
  const row1 = matrix[1] as number[];
  const row2 = matrix[2] as number[];
  // cos(x − y − c) = cos c (cos x cos y + sin x sin y) + sin c (sin x cos y − cos x sin y)
  row1[1] = a * Math.cos(c);
  row2[2] = a * Math.cos(c);
  row2[1] = a * Math.sin(c);
  row1[2] = -a * Math.sin(c);
  row2[0] = b;
  return matrix;
}

/** φᵀAφ of p + e·cos(x − y). */
function alignedTransition(p: number, e: number): number[][] {
  const matrix = Array.from({ length: FEATURES }, () => new Array<number>(FEATURES).fill(0));
  (matrix[0] as number[])[0] = p;
  (matrix[1] as number[])[1] = e;
  (matrix[2] as number[])[2] = e;
  return matrix;
}

/**
 * "pursuit-3": three states; in state s the max player (the pursuer) is paid a_s cos(x − y − c_s) + b_s sin x
 * (state 0 is MM1D, the 1-D benchmark of minimax.mfl), and matching the min player's action (x ≈ y) moves
 * the game on to state s + 1 (mod 3) with probability up to 0.55: P(s'|s, x, y) = P0[s][s'] + 0.25·D[s][s']
 * cos(x − y), with D[s][s] = −1, D[s][s+1] = +1, so every law stays in [0.05, 0.85] and sums to 1.
 */
export function pursuit3(discount = 0.8): MarkovGame {
  const stages: Array<[number, number, number]> = [
    [1, 0, 0.5],
    [1, Math.PI / 2, 0],
    [0.5, Math.PI, 0.25],
  ];
  const base = [
    [0.6, 0.3, 0.1],
    [0.1, 0.6, 0.3],
    [0.3, 0.1, 0.6],
  ];
  const strength = 0.25;
  return {
    name: 'pursuit-3',
    states: 3,
    discount,
    frequencies: [[1]],
    rewards: stages.map(([a, c, b]) => shiftedCosine(a, c, b)),
    transitions: base.map((row, s) =>
      row.map((p, next) => {
        const drift = next === s ? -strength : next === (s + 1) % 3 ? strength : 0;
        return alignedTransition(p, drift);
      }),
    ),
  };
}

/** One bilinear objective per state, its coefficients to be filled by setStageCoefficients. */
export function stageObjectives(game: MarkovGame): BilinearObjective[] {
  return game.rewards.map((reward) =>
    createObjective({ name: 'features', dimension: 1, frequencies: game.frequencies, coefficients: reward }),
  );
}

/** Writes Q^V_s = R_s + γ Σ_{s'} V(s') P_{ss'} into every state's objective, in place. */
export function setStageCoefficients(
  game: MarkovGame,
  values: Float64Array,
  objectives: BilinearObjective[],
): void {
  objectives.forEach((objective, s) => {
    const out = objective.coefficients;
    const size = Math.sqrt(out.length);
    const reward = game.rewards[s] as number[][];
    const transitions = game.transitions[s] as number[][][];
    for (let j = 0; j < size; j++) {
      for (let k = 0; k < size; k++) {
        let value = (reward[j] as number[])[k] as number;
        transitions.forEach((matrix, next) => {
          value += game.discount * (values[next] as number) * ((matrix[j] as number[])[k] as number);
        });
        out[j * size + k] = value;
      }
    }
  });
}

/** max over x, y and s of |r(s, x, y)| bounded by Σ|R_s| (|φ| ≤ 1): the scale of the values, ≤ that/(1 − γ). */
export function rewardBound(game: MarkovGame): number {
  return Math.max(...game.rewards.map((matrix) => matrix.flat().reduce((sum, a) => sum + Math.abs(a), 0)));
}
