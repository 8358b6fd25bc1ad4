// A finite-horizon mean-field game in MFGLib's convention (radar-research-lab/MFGLib, mfglib/utils.py): decision
// times t = 0..T inclusive, S states, A actions, an initial state law, and a reward R_t(L_t) and kernel
// P_t(L_t) that may depend on the joint state-action law L_t. Arrays are flat: (s, a) is s·A + a.

/** P_t(s' | s, a) in compressed rows: row s·A + a holds next[offsets[r] … offsets[r+1]) with prob. */
export interface Transition {
  offsets: Int32Array;
  next: Int32Array;
  prob: Float64Array;
}

export interface FiniteGame {
  /** Last decision time T (there are T + 1 decision times). */
  horizon: number;
  states: number;
  actions: number;
  /** μ_0, length S. */
  initial: Float64Array;
  /** R_t(s, a; L_t), length S·A. */
  reward(t: number, jointLaw: Float64Array): Float64Array;
  /** P_t(· | s, a; L_t); games whose kernel does not depend on L_t return one cached object. */
  transition(t: number, jointLaw: Float64Array): Transition;
}

/**
 * Builds compressed rows from a function listing (next state, probability) pairs per (s, a). Pairs that
 * land on the same next state are summed first, as a dense kernel accumulates them, and each row is
 * stored in ascending next-state order.
 */
export function buildTransition(
  states: number,
  actions: number,
  outcomes: (s: number, a: number, emit: (next: number, probability: number) => void) => void,
): Transition {
  const rows = states * actions;
  const offsets = new Int32Array(rows + 1);
  const next: number[] = [];
  const prob: number[] = [];
  const dense = new Float64Array(states);
  const touched = new Uint8Array(states);
  for (let s = 0; s < states; s++) {
    for (let a = 0; a < actions; a++) {
      outcomes(s, a, (target, probability) => {
        dense[target] = (dense[target] as number) + probability;
        touched[target] = 1;
      });
      for (let target = 0; target < states; target++) {
        if (touched[target] === 0) continue;
        next.push(target);
        prob.push(dense[target] as number);
        dense[target] = 0;
        touched[target] = 0;
      }
      offsets[s * actions + a + 1] = next.length;
    }
  }
  return { offsets, next: Int32Array.from(next), prob: Float64Array.from(prob) };
}

/** μ_t(s) = Σ_a L_t(s, a). */
export function stateMarginal(jointLaw: Float64Array, states: number, actions: number): Float64Array {
  const marginal = new Float64Array(states);
  for (let s = 0; s < states; s++) {
    let sum = 0;
    for (let a = 0; a < actions; a++) sum += jointLaw[s * actions + a] as number;
    marginal[s] = sum;
  }
  return marginal;
}

/** A reward that depends on the state only, repeated over the actions. */
export function perState(values: Float64Array, actions: number): Float64Array {
  const out = new Float64Array(values.length * actions);
  for (let s = 0; s < values.length; s++) out.fill(values[s] as number, s * actions, (s + 1) * actions);
  return out;
}
