// What a job type is, and defineJobType: a job type's params schema, its summary, the checks at submit that
// need the served models or collections, and where its processor lives (loaded lazily, in the job process).
// `check` and the processor receive the params typed by their schema; the one cast of the job system is here.
import type { Static, TSchema } from '@sinclair/typebox';
import type { CollectionConfig } from '../retrieval/collections/collection.js';
import type { ModelLookup } from '../schemas/manifest.js';
import type { Processor } from './processor.js';

/** What a submit-time check may look up. */
export interface CheckContext {
  /** A served model's manifest entry; NotFoundError when it is not served. */
  models: ModelLookup;
  /** A collection's configuration; NotFoundError when there is none. */
  collections: (name: string) => CollectionConfig;
  /**
   * 507 (StorageFullError) when `points` more points, with payloads of `payloadBytes` JSON bytes, would take
   * the collections past COLLECTIONS_MEMORY_BYTES (retrieval/collection-service.ts).
   */
  fitsCollections: (name: string, points: number, payloadBytes: number) => void;
  modelsDir: string;
}

/** A job type as its params file describes it. */
export interface JobSpec<Params extends TSchema> {
  type: string;
  summary: string;
  params: Params;
  /**
   * Checks that need the served models or collections; throws an AppError whose field paths start at
   * /body/params. May return the params completed with what it looked up (they are what the job gets).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a check that only validates returns nothing
  check?: (params: Static<Params>, context: CheckContext) => Static<Params> | void;
}

/** A job type as the catalog, the jobs service and the job process hold it, whatever its params. */
export interface JobType {
  type: string;
  summary: string;
  params: TSchema;
  check?: (params: unknown, context: CheckContext) => unknown;
  load: () => Promise<Processor<unknown>>;
}

export function defineJobType<Params extends TSchema>(
  spec: JobSpec<Params> & { load: () => Promise<Processor<Static<Params>>> },
): JobType {
  // Params reach check and the processor only after the schema validated them (jobs service, job process).
  return spec as unknown as JobType;
}
