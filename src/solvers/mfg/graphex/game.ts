// A game played on a graph (meanfield.md §3): each agent's kernel and reward depend on its own state, its
// action and the state law of its neighbourhood (the fraction of its neighbours in each state). The same
// game serves the core (the neighbourhood is a deterministic field), the periphery (the neighbourhood is a
// finite composition of k neighbours) and the N-agent simulation (the neighbourhood is the actual one).
import { Type } from '@sinclair/typebox';

export interface GraphGame {
  name: string;
  /** Last decision time T: decisions at t = 0 … T, as mfg.finite (MFGLib convention, meanfield.md §1.1). */
  horizon: number;
  states: number;
  actions: number;
  stateNames: readonly string[];
  /** μ_0, length S. */
  initial: Float64Array;
  /** Writes P(· | state, action; neighbourhood) into `out` (length S). */
  transition(state: number, action: number, neighbourhood: Float64Array, out: Float64Array): void;
  reward(state: number, action: number, neighbourhood: Float64Array): number;
}

/** A non-negative reward constant of a game's params. */
export const Cost = (description: string, fallback: number) =>
  Type.Number({ minimum: 0, maximum: 1e6, default: fallback, description });
