// Exact search through hnswlib's native brute force gives what scoring every point gives — the same slots,
// the same double-precision scores, ties broken by the lower slot — for every metric, with deletions,
// filters and growth past the native index's capacity, and when duplicates defeat the float32 candidates
// (the certification then falls back to the scan).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../src/lib/random.js';
import { FlatIndex } from '../src/retrieval/collections/flat-index.js';
import { SlotVectors } from '../src/retrieval/collections/slot-vectors.js';
import type { Metric, SearchHit } from '../src/retrieval/collections/vector-index.js';

const DIM = 16;

/** The specification: every accepted live slot scored in double precision, best first, ties by slot. */
function reference(
  vectors: SlotVectors,
  metric: Metric,
  query: Float32Array,
  k: number,
  accept: (slot: number) => boolean = () => true,
): SearchHit[] {
  const hits: SearchHit[] = [];
  for (let slot = 0; slot < vectors.length; slot++) {
    if (!vectors.isAlive(slot) || !accept(slot)) continue;
    const vector = vectors.vector(slot);
    let sum = 0;
    for (let i = 0; i < DIM; i++) {
      const a = vector[i] as number;
      const b = query[i] as number;
      sum += metric === 'l2' ? (a - b) * (a - b) : a * b;
    }
    hits.push({ slot, score: metric === 'l2' ? Math.sqrt(sum) : sum });
  }
  const sign = metric === 'l2' ? 1 : -1;
  hits.sort((a, b) => sign * (a.score - b.score) || a.slot - b.slot);
  return hits.slice(0, k);
}

function randomVector(random: Random, unit: boolean): Float32Array {
  const vector = Float32Array.from({ length: DIM }, () => random.nextNormal());
  if (!unit) return vector;
  const length = Math.hypot(...vector);
  return vector.map((value) => value / length);
}

function build(metric: Metric, count: number, seed: number) {
  const random = new Random(seed);
  const vectors = new SlotVectors(DIM);
  const index = new FlatIndex(vectors, metric);
  const add = (vector: Float32Array) => index.add(vectors.append(vector), vector);
  for (let n = 0; n < count; n++) add(randomVector(random, metric === 'cosine'));
  return { random, vectors, index, add };
}

describe('exact (flat) search', () => {
  for (const metric of ['cosine', 'dot', 'l2'] as const) {
    it(`answers what scoring every point answers (${metric}), past the native capacity, after deletions`, () => {
      const { random, vectors, index } = build(metric, 3000, 11);
      for (let slot = 0; slot < 3000; slot += 7) {
        vectors.kill(slot);
        index.remove(slot);
      }
      for (let q = 0; q < 40; q++) {
        const query = randomVector(random, metric === 'cosine');
        for (const k of [1, 10, 100]) {
          assert.deepEqual(index.search(query, { k }), reference(vectors, metric, query, k), `${q} k=${k}`);
        }
        const accept = (slot: number) => slot % 3 === 0;
        assert.deepEqual(
          index.search(query, { k: 10, accept }),
          reference(vectors, metric, query, 10, accept),
        );
      }
    });
  }

  it('breaks ties by the lower slot when duplicates outnumber the candidates (the scan answers)', () => {
    const { random, vectors, index, add } = build('cosine', 500, 5);
    const twin = randomVector(random, true);
    for (let n = 0; n < 200; n++) add(twin);
    const hits = index.search(twin, { k: 10 });
    assert.deepEqual(hits, reference(vectors, 'cosine', twin, 10));
    assert.deepEqual(
      hits.map((hit) => hit.slot),
      Array.from({ length: 10 }, (_, n) => 500 + n),
    );
  });

  it('answers an empty index and a filter that accepts nothing', () => {
    const vectors = new SlotVectors(DIM);
    const index = new FlatIndex(vectors, 'l2');
    assert.deepEqual(index.search(new Float32Array(DIM), { k: 5 }), []);
    const { index: full } = build('dot', 50, 2);
    assert.deepEqual(full.search(new Float32Array(DIM).fill(1), { k: 5, accept: () => false }), []);
  });
});
