// A simple undirected graph in compressed adjacency form: the neighbours of v are
// neighbours[offsets[v] … offsets[v + 1]), sorted, without repeats or self-loops.

export interface Graph {
  vertices: number;
  edges: number;
  offsets: Int32Array;
  neighbours: Int32Array;
}

/** A growable list of edges (u, v) for the builders. */
export class EdgeBuffer {
  private data = new Int32Array(1024);
  length = 0;

  push(u: number, v: number): void {
    if (2 * this.length + 2 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[2 * this.length] = u;
    this.data[2 * this.length + 1] = v;
    this.length++;
  }

  from(i: number): number {
    return this.data[2 * i] as number;
  }

  to(i: number): number {
    return this.data[2 * i + 1] as number;
  }
}

/** The simple graph on vertices 0 … n−1 with these edges; repeated edges count once, self-loops are dropped. */
export function graphFromEdges(vertices: number, edges: EdgeBuffer): Graph {
  const degree = new Int32Array(vertices + 1);
  for (let i = 0; i < edges.length; i++) {
    const u = edges.from(i);
    const v = edges.to(i);
    if (u === v) continue;
    degree[u + 1] = (degree[u + 1] as number) + 1;
    degree[v + 1] = (degree[v + 1] as number) + 1;
  }
  const start = new Int32Array(vertices + 1);
  for (let v = 0; v < vertices; v++) start[v + 1] = (start[v] as number) + (degree[v + 1] as number);
  const fill = start.slice(0, vertices);
  const raw = new Int32Array(start[vertices] as number);
  for (let i = 0; i < edges.length; i++) {
    const u = edges.from(i);
    const v = edges.to(i);
    if (u === v) continue;
    raw[fill[u] as number] = v;
    fill[u] = (fill[u] as number) + 1;
    raw[fill[v] as number] = u;
    fill[v] = (fill[v] as number) + 1;
  }
  // Sort each list and drop repeats, compacting in place.
  const offsets = new Int32Array(vertices + 1);
  let write = 0;
  for (let v = 0; v < vertices; v++) {
    const list = raw.subarray(start[v] as number, start[v + 1] as number).sort();
    offsets[v] = write;
    for (let i = 0; i < list.length; i++) {
      if (i > 0 && list[i] === list[i - 1]) continue;
      raw[write++] = list[i] as number;
    }
  }
  offsets[vertices] = write;
  return { vertices, edges: write / 2, offsets, neighbours: raw.slice(0, write) };
}

export function degreeOf(graph: Graph, vertex: number): number {
  return (graph.offsets[vertex + 1] as number) - (graph.offsets[vertex] as number);
}
