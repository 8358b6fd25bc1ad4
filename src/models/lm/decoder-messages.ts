// Messages between the DecoderPool (main thread) and its decoder threads. A sequence lives on one thread
// from open to close; only token ids and last-position logits cross, never the key/value cache.
import type { LanguageModelSpec } from '../../schemas/manifest.js';

export interface DecoderLoadRequest {
  key: string;
  model: Uint8Array;
  providers: string[];
  cache: LanguageModelSpec['cache'];
}

export type DecoderRequest =
  | { kind: 'load'; models: DecoderLoadRequest[] }
  | { kind: 'open'; sequence: number; key: string; useCache: boolean }
  | { kind: 'step'; sequence: number; id: number; ids: number[] }
  | { kind: 'close'; sequence: number };

export type DecoderReply =
  | { kind: 'loaded'; errors: Array<{ key: string; error: string }> }
  | { kind: 'logits'; id: number; logits: Float32Array }
  | { kind: 'error'; id: number; message: string };
