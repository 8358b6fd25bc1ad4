// What a job processor is: a pure function of (params, seed) with progress and cancellation, no I/O.
// It runs in a worker thread, in the API process (inline) or in a worker process (bullmq).
import type { ModelAccess } from '../config.js';
import type { JobProgress } from './job-record.js';

export interface ProcessorContext {
  seed: number;
  /** Reports progress; cheap to call often (the host throttles what it forwards). */
  progress(progress: JobProgress): void;
  /** Aborted when the job is cancelled; check it between steps. */
  signal: AbortSignal;
  /** Where models live and how to open them, for processors that run ONNX models. */
  models: ModelAccess;
}

export interface ProcessorOutput {
  /** The job's result, kept with the job and returned by GET /v1/jobs/{id}. Keep it small. */
  result: unknown;
  /** Files served at /v1/jobs/{id}/artifacts/{name}. */
  artifacts?: Array<{ name: string; contentType: string; data: Uint8Array }>;
}

export type Processor = (params: unknown, context: ProcessorContext) => Promise<ProcessorOutput>;

/** A failure no retry can fix (params that cannot work); the job fails at once. */
export class JobInputError extends Error {
  override name = 'JobInputError';
}
