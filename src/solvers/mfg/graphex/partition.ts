// Core/periphery split of a graph and the core model it implies (meanfield.md §3, "What we can ship").
//   Sampled graphex: core = {label ≤ α*}, cut into M classes of equal label width. The model is the
//     graphex's own: p_m = 1/M, and since W is separable, the share of any vertex's core neighbours in
//     class n is ∫_{I_n} w / ∫_0^{α*} w for every vertex, core or periphery (so A has equal rows: with a
//     separable W every class sees the same field, and the classes differ only in their degrees).
//   Uploaded edge list: no labels, so degree stands in for them: the core is the ⌈f·n⌉ vertices of highest
//     degree (ties by smaller id), cut into M classes of equal count by degree rank (class 0 the highest);
//     p_m, A(m, n) and B(n) (from the periphery proper, degree ≤ k_max) are counted on the graph's own edges.
// Periphery vertices are grouped by degree k ≤ k_max. A non-core vertex of degree above k_max ("overflow")
// acts as, and is predicted as, a member of the last core class (the core's lowest labels or degrees).
import { type CoreStructure, normaliseRows } from './core.js';
import { degreeOf, type Graph } from './graph.js';
import { type GraphexSpec, weightIntegral } from './sampler.js';

export const CORE = 0;
export const PERIPHERY = 1;
export const OVERFLOW = 2;

export interface Partition {
  structure: CoreStructure;
  maxDegree: number;
  /** Per vertex: CORE, PERIPHERY or OVERFLOW. */
  part: Uint8Array;
  /** Per vertex: its core class (core and overflow vertices), −1 in the periphery. */
  coreClass: Int32Array;
  /** Core vertices per class. */
  classCounts: Int32Array;
  /** Periphery vertices per degree 0 … k_max. */
  degreeCounts: Int32Array;
  overflow: number;
}

function assignPeriphery(graph: Graph, maxDegree: number, classes: number, partition: Partition) {
  for (let v = 0; v < graph.vertices; v++) {
    if (partition.part[v] === CORE) continue;
    const degree = degreeOf(graph, v);
    if (degree <= maxDegree) {
      partition.part[v] = PERIPHERY;
      partition.degreeCounts[degree] = (partition.degreeCounts[degree] as number) + 1;
    } else {
      partition.part[v] = OVERFLOW;
      partition.coreClass[v] = classes - 1;
      partition.overflow++;
    }
  }
}

function emptyPartition(graph: Graph, structure: CoreStructure, maxDegree: number): Partition {
  return {
    structure,
    maxDegree,
    part: new Uint8Array(graph.vertices).fill(PERIPHERY),
    coreClass: new Int32Array(graph.vertices).fill(-1),
    classCounts: new Int32Array(structure.classes),
    degreeCounts: new Int32Array(maxDegree + 1),
    overflow: 0,
  };
}

export function partitionGraphex(
  graph: Graph,
  labels: Float64Array,
  spec: GraphexSpec,
  coreLabel: number,
  classes: number,
  maxDegree: number,
): Partition {
  const masses = new Float64Array(classes).fill(1 / classes);
  const shares = new Float64Array(classes);
  for (let n = 0; n < classes; n++) {
    shares[n] = weightIntegral((n * coreLabel) / classes, ((n + 1) * coreLabel) / classes, spec.sigma);
  }
  const neighbourWeights = new Float64Array(classes * classes);
  for (let m = 0; m < classes; m++) neighbourWeights.set(shares, m * classes);
  const structure: CoreStructure = {
    classes,
    masses,
    neighbourWeights: normaliseRows(neighbourWeights, masses),
    peripheryWeights: normaliseRows(Float64Array.from(shares), masses),
  };
  const partition = emptyPartition(graph, structure, maxDegree);
  for (let v = 0; v < graph.vertices; v++) {
    const label = labels[v] as number;
    if (label > coreLabel) continue;
    const m = Math.min(classes - 1, Math.floor((label / coreLabel) * classes));
    partition.part[v] = CORE;
    partition.coreClass[v] = m;
    partition.classCounts[m] = (partition.classCounts[m] as number) + 1;
  }
  assignPeriphery(graph, maxDegree, classes, partition);
  return partition;
}

/** The number of core vertices of an uploaded graph with n vertices. */
export function coreSize(vertices: number, coreFraction: number): number {
  return Math.min(vertices, Math.ceil(coreFraction * vertices));
}

export function partitionEdgeList(
  graph: Graph,
  coreFraction: number,
  classes: number,
  maxDegree: number,
): Partition {
  const order = Array.from({ length: graph.vertices }, (_, v) => v).sort(
    (a, b) => degreeOf(graph, b) - degreeOf(graph, a) || a - b,
  );
  const size = coreSize(graph.vertices, coreFraction);
  const coreClass = new Int32Array(graph.vertices).fill(-1);
  const classCounts = new Int32Array(classes);
  for (let rank = 0; rank < size; rank++) {
    const m = Math.floor((rank * classes) / size);
    coreClass[order[rank] as number] = m;
    classCounts[m] = (classCounts[m] as number) + 1;
  }
  const masses = Float64Array.from(classCounts, (count) => count / size);
  const neighbourWeights = new Float64Array(classes * classes);
  const peripheryWeights = new Float64Array(classes);
  for (let v = 0; v < graph.vertices; v++) {
    const m = coreClass[v] as number;
    for (let e = graph.offsets[v] as number; e < (graph.offsets[v + 1] as number); e++) {
      const n = coreClass[graph.neighbours[e] as number] as number;
      if (n < 0) continue;
      if (m >= 0) neighbourWeights[m * classes + n] = (neighbourWeights[m * classes + n] as number) + 1;
      else if (degreeOf(graph, v) <= maxDegree) peripheryWeights[n] = (peripheryWeights[n] as number) + 1;
    }
  }
  const structure: CoreStructure = {
    classes,
    masses,
    neighbourWeights: normaliseRows(neighbourWeights, masses),
    peripheryWeights: normaliseRows(peripheryWeights, masses),
  };
  const partition = emptyPartition(graph, structure, maxDegree);
  for (let v = 0; v < graph.vertices; v++) {
    if ((coreClass[v] as number) < 0) continue;
    partition.part[v] = CORE;
    partition.coreClass[v] = coreClass[v] as number;
  }
  partition.classCounts.set(classCounts);
  assignPeriphery(graph, maxDegree, classes, partition);
  return partition;
}
