// Approximate search with hnswlib (hnswlib-node, the C++ library's binding). Slots are hnswlib labels;
// removal is hnswlib's markDelete. hnswlib only takes plain arrays and only reads/writes its graph from
// files, synchronously, hence the conversions here and the scratch files in the system's temporary
// directory (TMPDIR): in DATA_DIR, a disk that hung stopped the event loop in the middle of a save. A saved
// graph reaches it only after its checksum was verified (collection-file.ts). Cosine collections store unit
// vectors, so both cosine and dot use the inner-product space (distance 1 − ⟨a, b⟩) and l2 the
// squared-Euclidean one.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
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
  private graph: hnswlib.HierarchicalNSW;
  /** Labels (slots) in the graph, marked deleted or not. */
  private readonly labels: Set<number>;
  /**
   * Points not marked deleted. hnswlib links a new point only to live ones: added to a graph whose every
   * point was deleted, it found none, read past an empty list and crashed the process (found when a save
   * the disk refused rolled back every point of a collection, then more came; deleting them all through
   * the API could do the same). Such a graph is replaced by an empty one first: it answers no search.
   */
  private alive: number;

  /** `saved`: a graph as serialize() wrote it, with `alive` points not marked deleted. */
  constructor(
    private readonly dim: number,
    private readonly metric: Metric,
    private readonly settings: HnswSettings,
    saved?: { graph: Uint8Array; alive: number },
  ) {
    if (saved === undefined) {
      this.graph = this.emptyGraph();
      this.labels = new Set();
      this.alive = 0;
      return;
    }
    const graph = this.newGraph();
    this.withScratchFile((path) => {
      writeFileSync(path, saved.graph);
      graph.readIndexSync(path);
    });
    this.graph = graph;
    this.labels = new Set(graph.getIdsList());
    this.alive = saved.alive;
  }

  add(slot: number, vector: Float32Array): void {
    if (this.alive === 0 && this.labels.size > 0) {
      this.graph = this.emptyGraph();
      this.labels.clear();
    }
    const capacity = this.graph.getMaxElements();
    if (this.graph.getCurrentCount() >= capacity) this.graph.resizeIndex(capacity * 2);
    this.graph.addPoint(Array.from(vector), slot);
    this.labels.add(slot);
    this.alive++;
  }

  remove(slot: number): void {
    this.graph.markDelete(slot);
    this.alive--;
  }

  /** The slot's node is still in the graph, marked deleted, unless the graph was replaced since. */
  restore(slot: number, vector: Float32Array): void {
    if (this.alive === 0 || !this.labels.has(slot)) {
      this.add(slot, vector);
      return;
    }
    this.graph.unmarkDelete(slot);
    this.alive++;
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

  /** A graph of this index's space and dimension, to be initialised or read into. */
  private newGraph(): hnswlib.HierarchicalNSW {
    return new hnswlib.HierarchicalNSW(this.metric === 'l2' ? 'l2' : 'ip', this.dim);
  }

  private emptyGraph(): hnswlib.HierarchicalNSW {
    const graph = this.newGraph();
    graph.initIndex(INITIAL_CAPACITY, this.settings.m, this.settings.ef_construction, RANDOM_SEED);
    return graph;
  }

  private withScratchFile<T>(use: (path: string) => T): T {
    const path = join(tmpdir(), `meanserve-hnsw-${randomUUID()}`);
    try {
      return use(path);
    } finally {
      rmSync(path, { force: true });
    }
  }
}
