// One sequence decoded incrementally by an ONNX language model: the key/value cache of the positions seen so
// far stays here between steps, so each step feeds only the new tokens. Runs on the thread that owns the
// session (a decoder thread, or a job's thread).
import * as ort from 'onnxruntime-node';
import type { LanguageModelSpec } from '../../schemas/manifest.js';

/** A decoding step: new token ids in, the next-token logits of the last position out. */
export interface Decoder {
  step(ids: readonly number[]): Promise<Float32Array>;
  /** Frees the sequence's cache; later steps fail. Safe to call twice. */
  close(): void;
}

export class KvCacheDecoder implements Decoder {
  private past: ort.Tensor | undefined;
  /** Without the cache every step re-runs the whole sequence (for the benchmark's comparison). */
  private readonly history: number[] = [];

  constructor(
    private readonly session: ort.InferenceSession,
    cache: LanguageModelSpec['cache'],
    private readonly useCache = true,
  ) {
    this.past = emptyCache(cache);
  }

  async step(ids: readonly number[]): Promise<Float32Array> {
    if (this.past === undefined) throw new Error('decoder is closed');
    let fed = ids;
    if (!this.useCache) {
      this.history.push(...ids);
      fed = this.history;
    }
    const inputIds = new ort.Tensor('int64', BigInt64Array.from(fed, BigInt), [1, fed.length]);
    const results = await this.session.run({ input_ids: inputIds, past: this.past });
    if (this.useCache) this.past = results.present as ort.Tensor;
    const logits = results.logits as ort.Tensor;
    const vocabulary = logits.dims[2] as number;
    const data = logits.data as Float32Array;
    return data.slice((fed.length - 1) * vocabulary, fed.length * vocabulary);
  }

  close(): void {
    this.past = undefined;
  }
}

/** The cache of no positions: [layers, 2, 1, heads, 0, head_dim]. */
export function emptyCache(cache: LanguageModelSpec['cache']): ort.Tensor {
  return new ort.Tensor('float32', new Float32Array(0), [cache.layers, 2, 1, cache.heads, 0, cache.head_dim]);
}
