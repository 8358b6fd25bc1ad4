// Messages between an InferencePool (main thread) and its inference workers, threads or processes.
import type { TensorSpec } from '../schemas/manifest.js';
import type { Tensor } from './tensor.js';

export interface ModelLoadRequest {
  key: string;
  model: Uint8Array;
  providers: string[];
  intraOpThreads: number;
  /** Whether its session uses onnxruntime's CPU memory arena: not for uploads (session.ts, openSession). */
  memoryArena: boolean;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface ModelLoadResult {
  key: string;
  provider?: string;
  failures: string[];
  error?: string;
}

export type WorkerRequest =
  | { kind: 'load'; models: ModelLoadRequest[] }
  | { kind: 'run'; id: number; key: string; inputs: Record<string, Tensor>; outputs: string[] };

/** A model's outputs and the seconds its session ran for them (Triton's compute duration). */
export interface Computed {
  outputs: Record<string, Tensor>;
  computeSeconds: number;
}

export type WorkerReply =
  | { kind: 'loaded'; results: ModelLoadResult[] }
  | ({ kind: 'result'; id: number } & Computed)
  /** `modelRun`: onnxruntime refused the run's values (a ModelRunError), not a fault of the worker. */
  | { kind: 'error'; id: number; message: string; modelRun?: boolean };
