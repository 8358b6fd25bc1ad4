// Exact search. hnswlib's brute-force index (native, SIMD, float32) finds a few more candidates than asked
// for; they are scored again here in double precision, exactly as the plain scan scores them, and the answer
// is certified: when no point outside the candidates can reach the k-th score (float32's rounding bound), it
// is the scan's answer, ties included; otherwise the plain scan runs. The reference the HNSW index is
// measured against, and the index of choice for small collections.
import hnswlib from 'hnswlib-node';
import type { SlotVectors } from './slot-vectors.js';
import { closer, type Metric, type SearchHit, type SearchOptions, type VectorIndex } from './vector-index.js';

const INITIAL_CAPACITY = 1024;
/** float32's unit roundoff, 2^-24. */
const UNIT_ROUNDOFF = 2 ** -24;

export class FlatIndex implements VectorIndex {
  private native: hnswlib.BruteforceSearch;
  /** The largest norm of any vector added: the rounding bound of inner products scales with it. */
  private maxNorm = 0;

  constructor(
    private readonly vectors: SlotVectors,
    private readonly metric: Metric,
  ) {
    this.native = this.emptyNative(INITIAL_CAPACITY);
  }

  add(slot: number, vector: Float32Array): void {
    if (this.native.getCurrentCount() >= this.native.getMaxElements()) this.grow();
    this.native.addPoint(Array.from(vector), slot);
    this.maxNorm = Math.max(this.maxNorm, norm(vector));
  }

  remove(slot: number): void {
    this.native.removePoint(slot);
  }

  restore(slot: number, vector: Float32Array): void {
    this.add(slot, vector);
  }

  search(query: Float32Array, options: SearchOptions): SearchHit[] {
    const count = this.native.getCurrentCount();
    const wanted = Math.min(count, options.k * 2 + 16);
    if (wanted === 0) return [];
    const found = this.native.searchKnn(Array.from(query), wanted, options.accept);
    const best = new BoundedHeap(options.k, this.metric);
    for (const slot of found.neighbors) best.offer(slot, this.exactScore(query, slot));
    const hits = best.sorted();
    // Fewer candidates than asked for: every point the filter accepts was scored.
    if (found.neighbors.length < wanted || this.certified(query, hits, found.distances)) return hits;
    return this.scan(query, options);
  }

  serialize(): undefined {
    return undefined;
  }

  /**
   * True when no point outside the candidates can score as well as the k-th hit. hnswlib sums float32
   * products: its inner product is within (D + 4)·2^-23·(1 + |q|·max|x|) of the exact one (a generous form of
   * the γ_D bound), its squared distance within a relative (D + 4)·2^-23.
   */
  private certified(query: Float32Array, hits: SearchHit[], distances: number[]): boolean {
    const kth = hits.at(-1);
    const worstCandidate = Math.max(...distances);
    if (kth === undefined) return true;
    const gamma = (this.vectors.dim + 4) * 2 * UNIT_ROUNDOFF;
    if (this.metric === 'l2') {
      // Outside: native squared distance ≥ worstCandidate, so the exact one ≥ worstCandidate / (1 + γ).
      return kth.score * kth.score * (1 + gamma) < worstCandidate;
    }
    // Outside: native 1 − ⟨q, x⟩ ≥ worstCandidate, so the exact ⟨q, x⟩ ≤ 1 − worstCandidate + ε.
    const epsilon = gamma * (1 + norm(query) * this.maxNorm);
    return kth.score > 1 - worstCandidate + epsilon;
  }

  /** The score the plain scan gives: float32 values, double-precision sums. */
  private exactScore(query: Float32Array, slot: number): number {
    return score(this.metric, this.vectors.values, slot * this.vectors.dim, query);
  }

  /** Every live slot scored, the k best kept. */
  private scan(query: Float32Array, options: SearchOptions): SearchHit[] {
    const best = new BoundedHeap(options.k, this.metric);
    const { dim, values } = this.vectors;
    for (let slot = 0, offset = 0; slot < this.vectors.length; slot++, offset += dim) {
      if (!this.vectors.isAlive(slot) || (options.accept !== undefined && !options.accept(slot))) continue;
      best.offer(slot, score(this.metric, values, offset, query));
    }
    return best.sorted();
  }

  /** hnswlib's brute-force index has a fixed capacity: a larger one is filled again from the slots. */
  private grow(): void {
    const next = this.emptyNative(this.native.getMaxElements() * 2);
    for (let slot = 0; slot < this.vectors.length; slot++) {
      if (this.vectors.isAlive(slot)) next.addPoint(Array.from(this.vectors.vector(slot)), slot);
    }
    this.native = next;
  }

  private emptyNative(capacity: number): hnswlib.BruteforceSearch {
    // Cosine collections hold unit vectors, so cosine and dot both use the inner-product space.
    const native = new hnswlib.BruteforceSearch(this.metric === 'l2' ? 'l2' : 'ip', this.vectors.dim);
    native.initIndex(capacity);
    return native;
  }
}

function score(metric: Metric, values: Float32Array, offset: number, query: Float32Array): number {
  let sum = 0;
  if (metric === 'l2') {
    for (let i = 0; i < query.length; i++) {
      const difference = (values[offset + i] as number) - (query[i] as number);
      sum += difference * difference;
    }
    return Math.sqrt(sum);
  }
  for (let i = 0; i < query.length; i++) sum += (values[offset + i] as number) * (query[i] as number);
  return sum;
}

function norm(vector: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (vector[i] as number) * (vector[i] as number);
  return Math.sqrt(sum);
}

/** Keeps the k best hits; the root is the worst of them, so a worse candidate is rejected in O(1). */
class BoundedHeap {
  private readonly hits: SearchHit[] = [];

  constructor(
    private readonly k: number,
    private readonly metric: Metric,
  ) {}

  /** a is worse than b. */
  private worse(a: SearchHit, b: SearchHit): boolean {
    return closer(this.metric, b.score, a.score) || (a.score === b.score && a.slot > b.slot);
  }

  offer(slot: number, score: number): void {
    if (this.hits.length < this.k) {
      this.hits.push({ slot, score });
      this.up(this.hits.length - 1);
      return;
    }
    const worst = this.hits[0];
    // Most candidates lose to the worst kept hit: reject them before allocating anything.
    if (worst === undefined || !closer(this.metric, score, worst.score)) return;
    this.hits[0] = { slot, score };
    this.down(0);
  }

  sorted(): SearchHit[] {
    return [...this.hits].sort((a, b) => (this.worse(a, b) ? 1 : this.worse(b, a) ? -1 : 0));
  }

  private up(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.worse(this.hits[child] as SearchHit, this.hits[parent] as SearchHit)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  private down(index: number): void {
    let parent = index;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let worst = parent;
      if (left < this.hits.length && this.worse(this.hits[left] as SearchHit, this.hits[worst] as SearchHit))
        worst = left;
      if (
        right < this.hits.length &&
        this.worse(this.hits[right] as SearchHit, this.hits[worst] as SearchHit)
      )
        worst = right;
      if (worst === parent) return;
      this.swap(parent, worst);
      parent = worst;
    }
  }

  private swap(a: number, b: number): void {
    const held = this.hits[a] as SearchHit;
    this.hits[a] = this.hits[b] as SearchHit;
    this.hits[b] = held;
  }
}
