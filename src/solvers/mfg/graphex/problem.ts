// From params to the graph the job plays on and its core/periphery split. The sampled graph takes the
// job seed's stream 0 (deriveSeed(seed, 0)); the simulated runs take streams 1 … R (measure.ts).
import { deriveSeed, Random } from '../../../lib/random.js';
import type { GraphGame } from './game.js';
import { createGraphGame } from './games/index.js';
import { EdgeBuffer, type Graph, graphFromEdges } from './graph.js';
import type { MfgGraphexParams } from './params.js';
import { type Partition, partitionEdgeList, partitionGraphex } from './partition.js';
import { sampleGraphex } from './sampler.js';

export interface GraphexProblem {
  game: GraphGame;
  graph: Graph;
  partition: Partition;
  /** What the result says about the graph beyond its counts. */
  origin: Record<string, number | string>;
}

/** The uploaded edges on vertices renumbered 0 … n−1 in increasing id order. */
export function graphOfEdgeList(edges: ReadonlyArray<readonly [number, number]>): Graph {
  const ids = Array.from(new Set(edges.flat())).sort((a, b) => a - b);
  const position = new Map(ids.map((id, i) => [id, i]));
  const buffer = new EdgeBuffer();
  for (const [u, v] of edges) buffer.push(position.get(u) as number, position.get(v) as number);
  return graphFromEdges(ids.length, buffer);
}

export function buildProblem(params: MfgGraphexParams, seed: number): GraphexProblem {
  const game = createGraphGame(params.game);
  const graphParams = params.graph;
  if (graphParams.kind === 'graphex') {
    const sample = sampleGraphex(graphParams, new Random(deriveSeed(seed, 0)));
    return {
      game,
      graph: sample.graph,
      partition: partitionGraphex(
        sample.graph,
        sample.labels,
        graphParams,
        graphParams.core_label,
        params.core_classes,
        params.max_degree,
      ),
      origin: {
        kind: 'graphex',
        size: graphParams.size,
        sigma: graphParams.sigma,
        core_label: graphParams.core_label,
        label_limit: sample.labelLimit,
        labels_drawn: sample.candidates,
      },
    };
  }
  const graph = graphOfEdgeList(graphParams.edges);
  return {
    game,
    graph,
    partition: partitionEdgeList(graph, graphParams.core_fraction, params.core_classes, params.max_degree),
    origin: {
      kind: 'edge_list',
      core_fraction: graphParams.core_fraction,
      edges_given: graphParams.edges.length,
    },
  };
}
