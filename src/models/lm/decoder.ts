// What generation asks of a language model: one sequence, step by step. The server's decoders batch the
// steps of all running sequences of a model (decode-scheduler.ts); a sequence sees only its own logits.

/** A decoding step: new token ids in, the next-token logits of the last position out. */
export interface Decoder {
  step(ids: readonly number[]): Promise<Float32Array>;
  /** Frees the sequence's cache slot; later steps fail. Safe to call twice. */
  close(): void;
}
