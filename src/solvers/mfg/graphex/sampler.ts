// The separable power-law graphex of meanfield.md §3 ("What we can ship"; the construction is Caron–Fox /
// Veitch–Roy, the exact parameterisation of the paper is unknown): W(x, y) = w(x)·w(y), w(x) = (1 + x)^(−1/σ),
// σ ∈ (0, 1). At size ν, vertices are a Poisson process of rate ν on the labels [0, x_max], each pair is
// joined with probability W(x_i, x_j), and isolated vertices are dropped.
//
// x_max is where a vertex's expected degree ν·w(x)·∫_0^∞ w falls to 10⁻³: the labels beyond are almost
// surely isolated, and truncating there loses a fraction ≈ 10⁻³·(x_max + 1)/ν of the edges (0.3 % at
// ν = 400, σ = 0.5). The model's integrals use the same [0, x_max].
//
// Edges in O(candidates + edges) (Miller & Hagberg's skipping for Chung–Lu-type graphs, written here for
// this graphex): labels come sorted, so w decreases along the list; from vertex i, candidate partners j > i
// are skipped geometrically with the probability p at the last partner tried, which bounds every later one,
// and a landing j is accepted with probability w_i·w_j / p.
import type { Random } from '../../../lib/random.js';
import { EdgeBuffer, type Graph, graphFromEdges } from './graph.js';

/** Expected degree at the largest sampled label. */
const EDGE_LABEL_DEGREE = 1e-3;

export interface GraphexSpec {
  /** ν, the size: the rate of vertices per unit label. */
  size: number;
  /** σ ∈ (0, 1): the tail of w; larger means heavier-tailed degrees and more edges. */
  sigma: number;
}

export function labelWeight(label: number, sigma: number): number {
  return (1 + label) ** (-1 / sigma);
}

/** ∫_a^b w(x) dx. */
export function weightIntegral(from: number, to: number, sigma: number): number {
  const exponent = 1 - 1 / sigma;
  return ((1 + from) ** exponent - (1 + to) ** exponent) / (1 / sigma - 1);
}

/** x_max: where ν·w(x)·∫_0^∞ w = 10⁻³. */
export function labelLimit(spec: GraphexSpec): number {
  const total = spec.sigma / (1 - spec.sigma);
  return ((spec.size * total) / EDGE_LABEL_DEGREE) ** spec.sigma - 1;
}

/** Expected number of labels drawn, ν·x_max (before isolated vertices are dropped). */
export function expectedCandidates(spec: GraphexSpec): number {
  return spec.size * labelLimit(spec);
}

/** Expected number of edges, ν²/2·(∫_0^{x_max} w)² − ν/2·∫ w² (pairs of distinct points). */
export function expectedEdges(spec: GraphexSpec): number {
  const limit = labelLimit(spec);
  const first = weightIntegral(0, limit, spec.sigma);
  const second = weightIntegral(0, limit, spec.sigma / 2);
  return (spec.size ** 2 / 2) * first ** 2 - (spec.size / 2) * second;
}

/** Expected number of non-isolated vertices, ν∫(1 − exp(−ν·w(x)·∫w)) dx by the midpoint rule in log(1 + x). */
export function expectedVertices(spec: GraphexSpec): number {
  const limit = labelLimit(spec);
  const total = weightIntegral(0, limit, spec.sigma);
  const steps = 2000;
  const top = Math.log(1 + limit);
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const u = ((i + 0.5) / steps) * top;
    const x = Math.exp(u) - 1;
    sum += (1 - Math.exp(-spec.size * labelWeight(x, spec.sigma) * total)) * Math.exp(u) * (top / steps);
  }
  return spec.size * sum;
}

export interface SampledGraphex {
  graph: Graph;
  /** Label of each kept vertex, ascending. */
  labels: Float64Array;
  labelLimit: number;
  /** Labels drawn before isolated vertices were dropped. */
  candidates: number;
}

export function sampleGraphex(spec: GraphexSpec, random: Random): SampledGraphex {
  const limit = labelLimit(spec);
  const drawn: number[] = [];
  for (let x = -Math.log(random.nextUniform()) / spec.size; x <= limit; ) {
    drawn.push(x);
    x += -Math.log(random.nextUniform()) / spec.size;
  }
  const n = drawn.length;
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = labelWeight(drawn[i] as number, spec.sigma);
  const edges = new EdgeBuffer();
  const degree = new Int32Array(n);
  for (let i = 0; i < n - 1; i++) {
    const wi = weights[i] as number;
    let j = i + 1;
    let bound = wi * (weights[j] as number);
    while (j < n && bound > 0) {
      if (bound < 1) j += Math.floor(Math.log(random.nextUniform()) / Math.log1p(-bound));
      if (j >= n) break;
      const p = wi * (weights[j] as number);
      if (random.nextUniform() * bound < p) {
        edges.push(i, j);
        degree[i] = (degree[i] as number) + 1;
        degree[j] = (degree[j] as number) + 1;
      }
      bound = p;
      j++;
    }
  }
  // Keep the vertices with an edge, renumbered in label order.
  const renumber = new Int32Array(n).fill(-1);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    if ((degree[i] as number) === 0) continue;
    renumber[i] = labels.length;
    labels.push(drawn[i] as number);
  }
  const kept = new EdgeBuffer();
  for (let e = 0; e < edges.length; e++) {
    kept.push(renumber[edges.from(e)] as number, renumber[edges.to(e)] as number);
  }
  return {
    graph: graphFromEdges(labels.length, kept),
    labels: Float64Array.from(labels),
    labelLimit: limit,
    candidates: n,
  };
}
