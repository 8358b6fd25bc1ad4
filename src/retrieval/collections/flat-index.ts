// Exact search: every live slot is scored against the query and the k best are kept in a bounded heap.
// The reference the HNSW index is measured against, and the index of choice for small collections.
import type { SlotVectors } from './slot-vectors.js';
import { closer, type Metric, type SearchHit, type SearchOptions, type VectorIndex } from './vector-index.js';

export class FlatIndex implements VectorIndex {
  constructor(
    private readonly vectors: SlotVectors,
    private readonly metric: Metric,
  ) {}

  add(): void {}

  remove(): void {}

  search(query: Float32Array, options: SearchOptions): SearchHit[] {
    const best = new BoundedHeap(options.k, this.metric);
    const dim = this.vectors.dim;
    const values = this.vectors.values;
    const l2 = this.metric === 'l2';
    for (let slot = 0, offset = 0; slot < this.vectors.length; slot++, offset += dim) {
      if (!this.vectors.isAlive(slot) || (options.accept !== undefined && !options.accept(slot))) continue;
      let score = 0;
      if (l2) {
        for (let i = 0; i < dim; i++) {
          const difference = (values[offset + i] as number) - (query[i] as number);
          score += difference * difference;
        }
        score = Math.sqrt(score);
      } else {
        for (let i = 0; i < dim; i++) score += (values[offset + i] as number) * (query[i] as number);
      }
      best.offer(slot, score);
    }
    return best.sorted();
  }

  serialize(): undefined {
    return undefined;
  }
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
