// mfg.graphex params: a game, a graph (a sampled separable power-law graphex, or an uploaded edge list),
// the hybrid's core/periphery split (core classes M, k_max; α* or the core fraction sits with the graph),
// the mirror-descent budget and the number of simulated runs for Δμ. Checks the schema cannot express —
// the initial law, self-loops, the graph's size, the total work — throw 400 with the field path.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../../errors.js';
import { TaggedUnion } from '../../../lib/tagged-union.js';
import type { GraphGame } from './game.js';
import { createGraphGame, GRAPH_GAME_SCHEMAS, type GraphGameParams } from './games/index.js';
import type { PeripheryPolicy } from './hybrid.js';
import { compositionCount } from './neighbourhoods.js';
import { coreSize } from './partition.js';
import { expectedCandidates, expectedEdges, expectedVertices } from './sampler.js';

/** Uploaded graphs: at most this many edges and vertex ids below MAX_VERTICES. */
export const MAX_EDGES = 200_000;
export const MAX_VERTICES = 50_000;
/** Sampled graphs: at most this many expected edges and labels drawn. */
export const MAX_CANDIDATES = 5_000_000;
/**
 * Mirror-descent work, iterations × (t, context, action, next-state) cells: about 30 s of CPU at the ≈ 30 ns
 * per cell bench/mfg.ts measured on the shared 2-vCPU machine (docs/benchmarks.md).
 */
export const MAX_SOLVER_WORK = 1e9;
/** Simulation work, runs × T × (vertices + 2·edges) neighbour visits: 15–40 s at 25–75 visits per µs. */
export const MAX_SIMULATION_WORK = 1e9;

export const GraphexGraphSchema = Type.Object(
  {
    kind: Type.Literal('graphex'),
    size: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100_000,
      default: 200,
      description: 'ν: vertices per unit label (the graph has ≈ ν²/2·(σ/(1−σ))² edges).',
    }),
    sigma: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.5,
      description: 'σ in w(x) = (1 + x)^(−1/σ).',
    }),
    core_label: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1e6,
      default: 4,
      description: 'α*: vertices with label ≤ α* form the core.',
    }),
  },
  { additionalProperties: false, description: 'A separable power-law graphex sampled at size ν.' },
);

export const EdgeListGraphSchema = Type.Object(
  {
    kind: Type.Literal('edge_list'),
    edges: Type.Array(
      Type.Tuple([
        Type.Integer({ minimum: 0, maximum: MAX_VERTICES - 1 }),
        Type.Integer({ minimum: 0, maximum: MAX_VERTICES - 1 }),
      ]),
      {
        minItems: 1,
        maxItems: MAX_EDGES,
        description: `Undirected edges [u, v], ids 0 … ${MAX_VERTICES - 1}; repeats count once, self-loops are refused.`,
      },
    ),
    core_fraction: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'The share of vertices, by highest degree, that forms the core.',
    }),
  },
  { additionalProperties: false, description: 'An uploaded graph; degree stands in for the label.' },
);

export const MfgGraphexParams = Type.Object(
  {
    game: TaggedUnion('name', GRAPH_GAME_SCHEMAS, { description: 'The game and its parameters.' }),
    graph: TaggedUnion('kind', [GraphexGraphSchema, EdgeListGraphSchema], { description: 'The graph.' }),
    core_classes: Type.Integer({ minimum: 1, maximum: 32, default: 4, description: 'M core classes.' }),
    max_degree: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 16,
      description: 'k_max: periphery vertices of larger degree join the last core class.',
    }),
    iterations: Type.Integer({ minimum: 1, maximum: 100_000, default: 200 }),
    step: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1e6,
      default: 0.1,
      description: 'α in y ← y + α·Q^π (core and periphery mirror descent).',
    }),
    periphery_policy: Type.Union([Type.Literal('mirror_descent'), Type.Literal('best_response')], {
      default: 'mirror_descent',
      description: 'mirror_descent: per-degree mirror descent; best_response: greedy in Q* at every iterate.',
    }),
    runs: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'Simulated N-agent runs averaged in Δμ.',
    }),
  },
  {
    additionalProperties: false,
    examples: [
      { game: { name: 'sis' }, graph: { kind: 'graphex', size: 200 }, iterations: 200 },
      {
        game: { name: 'rumor' },
        graph: {
          kind: 'edge_list',
          edges: [
            [0, 1],
            [1, 2],
            [2, 0],
            [2, 3],
          ],
          core_fraction: 0.5,
        },
        core_classes: 1,
      },
    ],
  },
);
type GraphParams = Static<typeof GraphexGraphSchema> | Static<typeof EdgeListGraphSchema>;
export type MfgGraphexParams = Omit<
  Static<typeof MfgGraphexParams>,
  'game' | 'graph' | 'periphery_policy'
> & {
  game: GraphGameParams;
  graph: GraphParams;
  periphery_policy: PeripheryPolicy;
};

const PARAMS = '/body/params';

/** Mirror-descent cells per iteration: the core game and every periphery degree 1 … k_max. */
export function solverCellsPerIteration(params: MfgGraphexParams, game: GraphGame): number {
  const { states, actions, horizon } = game;
  let contexts = params.core_classes * states * (params.core_classes + states);
  for (let k = 1; k <= params.max_degree; k++) contexts += compositionCount(k, states) * (states + 2);
  // Q* and Q^π, each over every (t, context, action).
  return 2 * (horizon + 1) * contexts * actions;
}

/** Vertices and edges of the graph the job will use (expected, for a sampled graphex). */
function graphSize(params: MfgGraphexParams, errors: FieldError[]): { vertices: number; edges: number } {
  const graph = params.graph;
  if (graph.kind === 'graphex') {
    const edges = expectedEdges(graph);
    const candidates = expectedCandidates(graph);
    if (edges > MAX_EDGES) {
      errors.push({
        path: `${PARAMS}/graph/size`,
        message: `ν = ${graph.size}, σ = ${graph.sigma} gives ≈ ${Math.round(edges)} edges; the limit is ${MAX_EDGES}`,
      });
    } else if (candidates > MAX_CANDIDATES) {
      errors.push({
        path: `${PARAMS}/graph/size`,
        message: `ν = ${graph.size}, σ = ${graph.sigma} draws ≈ ${Math.round(candidates)} labels; the limit is ${MAX_CANDIDATES}`,
      });
    }
    return { vertices: expectedVertices(graph), edges };
  }
  const ids = new Set<number>();
  graph.edges.forEach(([u, v], i) => {
    if (u === v && errors.length < 20) {
      errors.push({
        path: `${PARAMS}/graph/edges/${i}`,
        message: `is a self-loop (${u}, ${u}); they are refused`,
      });
    }
    ids.add(u);
    ids.add(v);
  });
  if (coreSize(ids.size, graph.core_fraction) < params.core_classes) {
    errors.push({
      path: `${PARAMS}/core_classes`,
      message: `the core has ${coreSize(ids.size, graph.core_fraction)} vertices (core_fraction × ${ids.size}), fewer than ${params.core_classes} classes`,
    });
  }
  return { vertices: ids.size, edges: graph.edges.length };
}

export function checkMfgGraphexParams(params: MfgGraphexParams): void {
  const errors: FieldError[] = [];
  const game = createGraphGame(params.game);
  const initial = params.game.initial;
  if (initial !== undefined) {
    const total = initial.reduce((sum, p) => sum + p, 0);
    if (initial.length !== game.states) {
      errors.push({
        path: `${PARAMS}/game/initial`,
        message: `must have one entry per state (${game.states})`,
      });
    } else if (Math.abs(total - 1) > 1e-9) {
      errors.push({ path: `${PARAMS}/game/initial`, message: `must sum to 1 (sums to ${total})` });
    }
  }
  const { vertices, edges } = graphSize(params, errors);
  throwFieldErrors(errors);
  const solverWork = params.iterations * solverCellsPerIteration(params, game);
  if (solverWork > MAX_SOLVER_WORK) {
    errors.push({
      path: `${PARAMS}/iterations`,
      message: `${params.iterations} iterations are ≈ ${solverWork.toExponential(2)} cells of work; the limit is ${MAX_SOLVER_WORK}`,
    });
  }
  const simulationWork = params.runs * game.horizon * (vertices + 2 * edges);
  if (simulationWork > MAX_SIMULATION_WORK) {
    errors.push({
      path: `${PARAMS}/runs`,
      message: `${params.runs} runs on ≈ ${Math.round(vertices)} vertices and ${Math.round(edges)} edges are ≈ ${simulationWork.toExponential(2)} neighbour visits; the limit is ${MAX_SIMULATION_WORK}`,
    });
  }
  throwFieldErrors(errors);
}
