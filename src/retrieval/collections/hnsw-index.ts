// Approximate search with hnswlib (hnswlib-node, the C++ library's binding). Slots are hnswlib labels;
// removal is hnswlib's markDelete. hnswlib only takes plain arrays and only reads/writes its graph from
// files (scratch files in the collections directory, removed at start if a crash left one), hence the
// conversions here. A saved graph reaches it only after its checksum was verified (collection-file.ts). Cosine collections store unit vectors, so both cosine and dot use the
// inner-product space (distance 1 − ⟨a, b⟩) and l2 the squared-Euclidean one.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { TEMPORARY_MARK } from '../../lib/atomic-file.js';
import type { Metric, SearchHit, SearchOptions, VectorIndex } from './vector-index.js';

export interface HnswSettings {
  /** Graph degree. @defaultValue 16 */
  m: number;
  /** Candidate list while building. @defaultValue 200 */
  ef_construction: number;
  /** Candidate list while searching, when a query gives none (raised to k when smaller). @defaultValue 64 */
  ef_search: number;
}

/** hnswlib's level generator is seeded, so the same inserts in the same order build the same graph. */
const RANDOM_SEED = 100;
const INITIAL_CAPACITY = 1024;

export class HnswIndex implements VectorIndex {
  private readonly graph: hnswlib.HierarchicalNSW;

  constructor(
    dim: number,
    private readonly metric: Metric,
    private readonly settings: HnswSettings,
    private readonly scratchDir: string,
    saved?: Uint8Array,
  ) {
    this.graph = new hnswlib.HierarchicalNSW(metric === 'l2' ? 'l2' : 'ip', dim);
    if (saved === undefined) {
      this.graph.initIndex(INITIAL_CAPACITY, settings.m, settings.ef_construction, RANDOM_SEED);
    } else {
      this.withScratchFile((path) => {
        writeFileSync(path, saved);
        this.graph.readIndexSync(path);
      });
    }
  }

  add(slot: number, vector: Float32Array): void {
    const capacity = this.graph.getMaxElements();
    if (this.graph.getCurrentCount() >= capacity) this.graph.resizeIndex(capacity * 2);
    this.graph.addPoint(Array.from(vector), slot);
  }

  remove(slot: number): void {
    this.graph.markDelete(slot);
  }

  /** The slot's node is still in the graph, marked deleted. */
  restore(slot: number): void {
    this.graph.unmarkDelete(slot);
  }

  search(query: Float32Array, options: SearchOptions): SearchHit[] {
    this.graph.setEf(Math.max(options.ef ?? this.settings.ef_search, options.k));
    const found = this.graph.searchKnn(Array.from(query), options.k, options.accept);
    return found.neighbors.map((slot, index) => {
      const distance = found.distances[index] as number;
      return { slot, score: this.metric === 'l2' ? Math.sqrt(Math.max(0, distance)) : 1 - distance };
    });
  }

  serialize(): Uint8Array {
    return this.withScratchFile((path) => {
      this.graph.writeIndexSync(path);
      return readFileSync(path);
    });
  }

  private withScratchFile<T>(use: (path: string) => T): T {
    const path = join(this.scratchDir, `hnsw${TEMPORARY_MARK}${randomUUID()}`);
    try {
      return use(path);
    } finally {
      rmSync(path, { force: true });
    }
  }
}
