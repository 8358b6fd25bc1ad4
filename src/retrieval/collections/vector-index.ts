// The seam between a collection and its search structure. Points live in numbered slots; an index maps a
// query to the best slots. Two implementations: exact (flat-index.ts) and HNSW (hnsw-index.ts).

export type Metric = 'cosine' | 'dot' | 'l2';

export interface SearchHit {
  slot: number;
  /** Similarity for cosine and dot (higher is closer), Euclidean distance for l2 (lower is closer). */
  score: number;
}

export interface SearchOptions {
  k: number;
  /** HNSW candidate-list size; ignored by exact search. */
  ef?: number;
  /** Only slots for which this returns true are results. */
  accept?: (slot: number) => boolean;
}

export interface VectorIndex {
  add(slot: number, vector: Float32Array): void;
  remove(slot: number): void;
  /** A removed slot back in the index, with the vector it had. */
  restore(slot: number, vector: Float32Array): void;
  search(query: Float32Array, options: SearchOptions): SearchHit[];
  /** Bytes that restore the index with `load` (flat indexes have none: they read the slots' vectors). */
  serialize(): Uint8Array | undefined;
}

/** Higher-is-better for the ranking of both metrics' scores. */
export function closer(metric: Metric, a: number, b: number): boolean {
  return metric === 'l2' ? a < b : a > b;
}
