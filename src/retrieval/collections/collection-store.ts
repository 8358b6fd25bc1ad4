// The collection store contract, kept by two backends that pass one contract-test suite
// (test/collection-store-contract.test.ts): the embedded file store (file-collection-store.ts, one file per
// collection under DATA_DIR, the default) and PostgreSQL (postgres/postgres-collection-store.ts, when
// DATABASE_URL is set, shared by any number of API replicas). Either way each process searches its own
// in-memory index (collection.ts); the store says how changes are made durable and how they reach it.
//
// Every change is numbered: the store's `sequence` is the last change the in-memory collections reflect,
// a write resolves with the sequence it produced once this process reflects it, and `reached` lets a
// reader wait (bounded) for a sequence another replica produced — read-your-writes across replicas.
import { DamagedError } from '../../errors.js';
import type { Abortable } from '../../lib/abortable.js';
import type { Collection, CollectionConfig, Point } from './collection.js';

/** A collection whose file could not be read intact; it answers nothing until recovered or deleted. */
export interface DamagedCollection {
  name: string;
  /** What is wrong with the file. */
  damage: string;
  detectedAt: string;
}

export interface RecoveryReport {
  collection: Collection;
  /** Points that passed their checksums and are served again. */
  recovered: number;
  /** Points whose id, payload or vector did not survive. */
  lost: number;
  /** Where the damaged file was moved, relative to the collections directory. */
  keptAside: string;
  sequence: number;
}

/** A damaged collection's answer to anything but describe, recover and delete. */
export class DamagedCollectionError extends DamagedError {
  constructor(damaged: DamagedCollection) {
    super(
      `collection '${damaged.name}' is damaged (${damaged.damage}); recover its intact points with ` +
        `POST /v1/collections/${damaged.name}/recover, or delete it`,
    );
  }
}

export interface CollectionStore {
  readonly backend: 'file' | 'postgres';
  /** False until the collections are in memory; reads and writes answer 503 until then. */
  readonly loaded: boolean;
  /** The last change the collections in memory reflect. */
  readonly sequence: number;
  /** Loads every collection; rejects when the backing store cannot be read. */
  load(): Promise<void>;
  /** Reasons this store keeps the service from being ready (loading, unreachable, damaged collections). */
  readiness(): string[];
  list(): Collection[];
  damagedList(): DamagedCollection[];
  /** 404 when there is no such collection, 409 when it is damaged. */
  get(name: string): Collection;
  describe(name: string): Collection | DamagedCollection;
  create(config: CollectionConfig): Promise<{ collection: Collection; sequence: number }>;
  drop(name: string): Promise<number>;
  /**
   * Inserts or replaces prepared points in one transaction (all or none; a later duplicate id wins). 409
   * when `collection` is no longer the one of its name (deleted and re-created meanwhile).
   */
  upsert(collection: Collection, points: Point[]): Promise<number>;
  /** 404 when the point is not there. */
  deletePoint(name: string, id: string): Promise<number>;
  /**
   * The points of a finished collections.index job, applied at most once per collection (the job id is
   * stored with them); undefined when the job was applied already.
   */
  applyJob(collection: Collection, jobId: string, points: Point[]): Promise<number | undefined>;
  /** Rebuilds a damaged collection from its intact points; 409 when it is not damaged. */
  recover(name: string): Promise<RecoveryReport>;
  /** True once `sequence` is reflected here; false after `timeoutMs` or when `signal` aborts. */
  reached(sequence: number, timeoutMs: number, signal?: Abortable): Promise<boolean>;
  /** Waits for writes in flight and lets go of connections. */
  close(): Promise<void>;
}
