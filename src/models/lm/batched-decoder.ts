// One language model's batched decoding on the thread that owns its session: a cache slot of the whole
// context per running sequence, and steps that run every decoding sequence in one forward pass. Slots
// are rows of one buffer per layer and kind, so the sequences in slots 0..width−1 are fed as a view of
// those rows, never copied; the scheduler (decode-scheduler.ts) keeps the running sequences packed at the
// front by moving the last one into a slot that frees up. Each row's result depends on that row only
// (a slot's positions at and beyond its length are masked), so a sequence decodes the same bits whatever
// else shares its batch.
import * as ort from 'onnxruntime-node';
import type { LanguageModelSpec } from '../../schemas/manifest.js';

/** Tokens of one sequence and where they go: its slot and the position of the first. */
export interface SlotTokens {
  slot: number;
  ids: number[];
  position: number;
}

/** One scheduler step of one model: slot moves first, then the forward passes. */
export interface DecodeStep {
  /** [from, to] slot copies, in order. */
  moves: Array<[number, number]>;
  /** Slots 0..width−1 run as one batch of one token each; slots without a row compute and are ignored. */
  width: number;
  /** One token each (a decoding sequence). */
  rows: SlotTokens[];
  /** Prompts, each its own forward pass (a prompt's length is its own, and rows of a batch share one). */
  prefills: SlotTokens[];
}

export interface DecodeSpec {
  layers: number;
  heads: number;
  headDim: number;
  context: number;
}

export function decodeSpecOf(model: LanguageModelSpec): DecodeSpec {
  return {
    layers: model.cache.layers,
    heads: model.cache.heads,
    headDim: model.cache.head_dim,
    context: model.decoder.context,
  };
}

export class BatchedDecoder {
  /** key0, value0, key1, … : [capacity, heads, context, head_dim] each. */
  private caches: Float32Array[];
  private capacity = 0;
  private readonly slotSize: number;
  private readonly names: string[];

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly spec: DecodeSpec,
  ) {
    this.slotSize = spec.heads * spec.context * spec.headDim;
    this.names = Array.from({ length: spec.layers }, (_, layer) => [`key${layer}`, `value${layer}`]).flat();
    this.caches = this.names.map(() => new Float32Array(0));
  }

  /** Logits of the step's rows, then of its prefills, one vocabulary-sized run each. */
  async run(step: DecodeStep): Promise<Float32Array> {
    const highest = Math.max(step.width, ...step.prefills.map((prefill) => prefill.slot + 1));
    this.reserve(highest);
    for (const [from, to] of step.moves) this.move(from, to);
    const parts: Float32Array[] = [];
    if (step.rows.length > 0) {
      const ids = new Array<number>(step.width).fill(0);
      const positions = new Array<number>(step.width).fill(0);
      for (const row of step.rows) {
        ids[row.slot] = row.ids[0] as number;
        positions[row.slot] = row.position;
      }
      const { logits, newKv } = await this.forward(0, step.width, ids, positions);
      const vocabulary = logits.length / step.width;
      for (const row of step.rows) {
        this.store(row.slot, newKv, row.slot, 1, row.position, step.width);
        parts.push(logits.subarray(row.slot * vocabulary, (row.slot + 1) * vocabulary));
      }
    }
    for (const prefill of step.prefills) {
      const { logits, newKv } = await this.forward(prefill.slot, 1, prefill.ids, [prefill.position]);
      this.store(prefill.slot, newKv, 0, prefill.ids.length, prefill.position, 1);
      parts.push(logits);
    }
    const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Slots first..first+count−1, fed `ids` ([count, steps] row-major) at `positions`. */
  private async forward(first: number, count: number, ids: number[], positions: number[]) {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [count, ids.length / count]),
      positions: new ort.Tensor('int64', BigInt64Array.from(positions, BigInt), [count]),
    };
    const { heads, context, headDim } = this.spec;
    this.names.forEach((name, index) => {
      const rows = (this.caches[index] as Float32Array).subarray(
        first * this.slotSize,
        (first + count) * this.slotSize,
      );
      feeds[name] = new ort.Tensor('float32', rows, [count, heads, context, headDim]);
    });
    const results = await this.session.run(feeds);
    return {
      logits: (results.logits as ort.Tensor).data as Float32Array,
      newKv: (results.new_kv as ort.Tensor).data as Float32Array,
    };
  }

  /** Writes row `row` of new_kv ([batch, layers, 2, heads, steps, head_dim]) into `slot` at `position`. */
  private store(
    slot: number,
    newKv: Float32Array,
    row: number,
    steps: number,
    position: number,
    batch: number,
  ) {
    const { heads, context, headDim } = this.spec;
    const block = steps * headDim;
    const rowSize = this.names.length * heads * block;
    if (newKv.length !== batch * rowSize) throw new Error('new_kv does not have the expected shape');
    this.names.forEach((_, index) => {
      const cache = this.caches[index] as Float32Array;
      for (let head = 0; head < heads; head++) {
        const from = row * rowSize + (index * heads + head) * block;
        cache.set(
          newKv.subarray(from, from + block),
          slot * this.slotSize + (head * context + position) * headDim,
        );
      }
    });
  }

  private move(from: number, to: number): void {
    for (const cache of this.caches) {
      cache.copyWithin(to * this.slotSize, from * this.slotSize, (from + 1) * this.slotSize);
    }
  }

  /** Room for `slots` slots; the buffers double, keeping what the slots hold. */
  private reserve(slots: number): void {
    if (slots <= this.capacity) return;
    const capacity = Math.max(slots, this.capacity * 2, 4);
    this.caches = this.caches.map((cache) => {
      const grown = new Float32Array(capacity * this.slotSize);
      grown.set(cache);
      return grown;
    });
    this.capacity = capacity;
  }
}
