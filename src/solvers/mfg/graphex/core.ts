// The core of the hybrid graphex MFG (meanfield.md §3): M classes of core agents, class m of mass p_m, whose
// neighbourhood field is G_m = Σ_n A(m, n)·μ_n, A row-normalised (the share of a class-m agent's core
// neighbours that lie in class n), μ_n the state law within class n. The periphery's neighbours are drawn
// from G_per = Σ_n B(n)·μ_n. As in graphon MFGs, the M classes are one finite MFG on the extended state
// (m, s) — the class never changes — so mfg.finite's evaluation and mirror descent apply unchanged: its
// exploitability Σ_{m,s} p_m·μ_0(s)[max_a Q*_0 − Σ_a π_0 Q^π_0] is the mass-weighted core exploitability.
import { buildTransition, type FiniteGame } from '../finite/game.js';
import type { GraphGame } from './game.js';

export interface CoreStructure {
  classes: number;
  /** p_m, summing to 1. */
  masses: Float64Array;
  /** A(m, n), M × M, rows summing to 1. */
  neighbourWeights: Float64Array;
  /** B(n), summing to 1. */
  peripheryWeights: Float64Array;
}

/** Row-normalises M×M (or 1×M) weights in place; a row without weight takes the class masses. */
export function normaliseRows(weights: Float64Array, masses: Float64Array): Float64Array {
  const classes = masses.length;
  for (let row = 0; row < weights.length; row += classes) {
    let sum = 0;
    for (let n = 0; n < classes; n++) sum += weights[row + n] as number;
    for (let n = 0; n < classes; n++) {
      weights[row + n] = sum > 0 ? (weights[row + n] as number) / sum : (masses[n] as number);
    }
  }
  return weights;
}

/** μ_n(s) of every class at one time, M·S, from the joint law over (m, s, a). */
export function classLaws(game: GraphGame, structure: CoreStructure, jointLaw: Float64Array): Float64Array {
  const { states, actions } = game;
  const laws = new Float64Array(structure.classes * states);
  for (let m = 0; m < structure.classes; m++) {
    const mass = structure.masses[m] as number;
    for (let s = 0; s < states; s++) {
      let sum = 0;
      for (let a = 0; a < actions; a++) sum += jointLaw[(m * states + s) * actions + a] as number;
      laws[m * states + s] = mass > 0 ? sum / mass : (game.initial[s] as number);
    }
  }
  return laws;
}

/** Σ_n weights[n]·μ_n, written to `out` (length S). */
export function mixClasses(weights: Float64Array, laws: Float64Array, states: number, out: Float64Array) {
  out.fill(0);
  for (let n = 0; n < weights.length; n++) {
    const weight = weights[n] as number;
    for (let s = 0; s < states; s++) out[s] = (out[s] as number) + weight * (laws[n * states + s] as number);
  }
}

/** G_m for every class at one time, M·S. */
function coreFields(game: GraphGame, structure: CoreStructure, jointLaw: Float64Array): Float64Array {
  const { classes, neighbourWeights } = structure;
  const laws = classLaws(game, structure, jointLaw);
  const fields = new Float64Array(classes * game.states);
  for (let m = 0; m < classes; m++) {
    mixClasses(
      neighbourWeights.subarray(m * classes, (m + 1) * classes),
      laws,
      game.states,
      fields.subarray(m * game.states, (m + 1) * game.states),
    );
  }
  return fields;
}

/** The core as a finite MFG over the states (m, s), index m·S + s. */
export function coreGame(game: GraphGame, structure: CoreStructure): FiniteGame {
  const { states, actions } = game;
  const { classes } = structure;
  const initial = new Float64Array(classes * states);
  for (let m = 0; m < classes; m++) {
    for (let s = 0; s < states; s++) {
      initial[m * states + s] = (structure.masses[m] as number) * (game.initial[s] as number);
    }
  }
  const out = new Float64Array(states);
  return {
    horizon: game.horizon,
    states: classes * states,
    actions,
    initial,
    reward: (_t, jointLaw) => {
      const fields = coreFields(game, structure, jointLaw);
      const reward = new Float64Array(classes * states * actions);
      for (let m = 0; m < classes; m++) {
        const field = fields.subarray(m * states, (m + 1) * states);
        for (let s = 0; s < states; s++) {
          for (let a = 0; a < actions; a++) reward[(m * states + s) * actions + a] = game.reward(s, a, field);
        }
      }
      return reward;
    },
    transition: (_t, jointLaw) => {
      const fields = coreFields(game, structure, jointLaw);
      return buildTransition(classes * states, actions, (state, a, emit) => {
        const m = Math.floor(state / states);
        game.transition(state % states, a, fields.subarray(m * states, (m + 1) * states), out);
        for (let next = 0; next < states; next++) {
          if ((out[next] as number) > 0) emit(m * states + next, out[next] as number);
        }
      });
    },
  };
}

/** G_per,t for t = 0 … T, (T + 1)·S, from the core's joint law over time. */
export function peripheryField(
  game: GraphGame,
  structure: CoreStructure,
  jointLaw: Float64Array,
): Float64Array {
  const { horizon, states, actions } = game;
  const width = structure.classes * states * actions;
  const field = new Float64Array((horizon + 1) * states);
  for (let t = 0; t <= horizon; t++) {
    const laws = classLaws(game, structure, jointLaw.subarray(t * width, (t + 1) * width));
    mixClasses(structure.peripheryWeights, laws, states, field.subarray(t * states, (t + 1) * states));
  }
  return field;
}

/** μ_m,t for every class and time, (T + 1)·M·S. */
export function coreLaws(game: GraphGame, structure: CoreStructure, jointLaw: Float64Array): Float64Array {
  const { horizon, states, actions } = game;
  const width = structure.classes * states * actions;
  const out = new Float64Array((horizon + 1) * structure.classes * states);
  for (let t = 0; t <= horizon; t++) {
    out.set(
      classLaws(game, structure, jointLaw.subarray(t * width, (t + 1) * width)),
      t * structure.classes * states,
    );
  }
  return out;
}
