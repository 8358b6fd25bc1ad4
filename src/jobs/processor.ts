// What a job processor is: a pure function of (params, seed) with progress and cancellation, no I/O.
// It runs in a worker thread, in the API process (inline) or in a worker process (bullmq).
import type { ModelAccess } from '../config.js';
import { PermanentError } from '../errors.js';
import type { GenerationLabels, TokenKind } from '../models/lm/generation-observer.js';
import type { JobProgress } from './job-record.js';

/** Language-model tokens a job decoded, for the token counters of the process that runs it. */
export interface JobTokens {
  labels: GenerationLabels;
  kind: TokenKind;
  count: number;
}

export interface ProcessorContext {
  seed: number;
  /** Reports progress; cheap to call often (the host throttles what it forwards). */
  progress(progress: JobProgress): void;
  /** Aborted when the job is cancelled; check it between steps. */
  signal: AbortSignal;
  /** Where models live and how to open them, for processors that run ONNX models. */
  models: ModelAccess;
  /** Counts language-model tokens the job decoded; absent where nothing counts them (benches, scripts). */
  tokens?(tokens: JobTokens): void;
}

export interface ProcessorOutput {
  /** The job's result, kept with the job and returned by GET /v1/jobs/{id}. Keep it small. */
  result: unknown;
  /** Files served at /v1/jobs/{id}/artifacts/{name}. */
  artifacts?: Array<{ name: string; contentType: string; data: Uint8Array }>;
}

/** Runs one job: its params (validated against its type's schema), seed, progress and cancellation. */
export type Processor<Params> = (params: Params, context: ProcessorContext) => Promise<ProcessorOutput>;

/** Params that cannot work, found only when the job runs (a model that is not served): the job fails at once. */
export class JobInputError extends PermanentError {
  override name = 'JobInputError';
}
