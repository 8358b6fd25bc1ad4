// The N-agent dynamics on the graph itself, for the paper's Δμ (meanfield.md §3): every vertex starts in a
// state drawn from μ_0; at each t it counts its actual neighbours' states, picks an action from its own
// policy (core and overflow vertices: their class's π_m(t, s); periphery vertices of degree k:
// π_k(t, s, g) at their actual composition g), and moves by the game's kernel with its actual neighbourhood
// shares. Returns the state counts of each part at t = 0 … steps − 1.
import type { Random } from '../../../lib/random.js';
import type { GraphGame } from './game.js';
import type { Graph } from './graph.js';
import { type Compositions, compositionKey } from './neighbourhoods.js';
import { type Partition, PERIPHERY } from './partition.js';

export interface AgentPolicies {
  /** The core game's policy, [t][m·S + s][a]. */
  core: Float64Array;
  /** By degree: the periphery policy [t][s][g][a] and its compositions (degrees with vertices only). */
  periphery: Array<{ policy: Float64Array; neighbourhood: Compositions } | undefined>;
}

/** Parts counted: core, periphery, overflow (the Partition constants). */
export const PARTS = 3;

function draw(probabilities: ArrayLike<number>, offset: number, length: number, uniform: number): number {
  let cumulative = 0;
  for (let i = 0; i < length - 1; i++) {
    cumulative += probabilities[offset + i] as number;
    if (uniform < cumulative) return i;
  }
  return length - 1;
}

/** One run: counts [t][part][s], steps·PARTS·S. */
export function simulateRun(
  game: GraphGame,
  graph: Graph,
  partition: Partition,
  policies: AgentPolicies,
  steps: number,
  random: Random,
): Int32Array {
  const { states, actions } = game;
  const classes = partition.structure.classes;
  const n = graph.vertices;
  let state = new Uint8Array(n);
  let next = new Uint8Array(n);
  for (let v = 0; v < n; v++) state[v] = draw(game.initial, 0, states, random.nextUniform());
  const counts = new Int32Array(steps * PARTS * states);
  const neighbourCounts = new Int32Array(states);
  const shares = new Float64Array(states);
  const kernel = new Float64Array(states);
  const coreWidth = classes * states * actions;
  for (let t = 0; t < steps; t++) {
    for (let v = 0; v < n; v++) {
      const i = (t * PARTS + (partition.part[v] as number)) * states + (state[v] as number);
      counts[i] = (counts[i] as number) + 1;
    }
    if (t === steps - 1) break;
    for (let v = 0; v < n; v++) {
      const start = graph.offsets[v] as number;
      const end = graph.offsets[v + 1] as number;
      const degree = end - start;
      neighbourCounts.fill(0);
      for (let e = start; e < end; e++) {
        const other = state[graph.neighbours[e] as number] as number;
        neighbourCounts[other] = (neighbourCounts[other] as number) + 1;
      }
      const s = state[v] as number;
      let policy: Float64Array;
      let offset: number;
      if (partition.part[v] === PERIPHERY) {
        const own = policies.periphery[degree];
        if (own === undefined) throw new Error(`no periphery policy for degree ${degree}`);
        const count = own.neighbourhood.count;
        const g = own.neighbourhood.index[compositionKey(neighbourCounts, degree)] as number;
        policy = own.policy;
        offset = ((t * states + s) * count + g) * actions;
      } else {
        policy = policies.core;
        offset = t * coreWidth + ((partition.coreClass[v] as number) * states + s) * actions;
      }
      const action = draw(policy, offset, actions, random.nextUniform());
      for (let r = 0; r < states; r++) shares[r] = degree > 0 ? (neighbourCounts[r] as number) / degree : 0;
      game.transition(s, action, shares, kernel);
      next[v] = draw(kernel, 0, states, random.nextUniform());
    }
    [state, next] = [next, state];
  }
  return counts;
}
