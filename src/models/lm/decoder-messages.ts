// Messages between the DecoderPool (main thread) and its decoder threads. A model's cache slots live on
// its thread; only token ids, slot numbers and last-position logits cross, never a key/value cache.
import type { DecodeSpec, DecodeStep } from './batched-decoder.js';

export interface DecoderLoadRequest {
  key: string;
  /** The batched decoding graph (decode.onnx). */
  model: Uint8Array;
  providers: string[];
  spec: DecodeSpec;
}

export type DecoderRequest =
  | { kind: 'load'; models: DecoderLoadRequest[] }
  | { kind: 'step'; key: string; id: number; step: DecodeStep };

export type DecoderReply =
  | { kind: 'loaded'; errors: Array<{ key: string; error: string }> }
  | { kind: 'logits'; id: number; logits: Float32Array }
  | { kind: 'error'; id: number; message: string };
