// One vector collection in memory: points (string id, vector, payload) in slots, the id → slot map, the
// payload fields seen, and the search index. Vectors reach it checked and prepared (prepareVector), so
// every method here either completes or, before changing anything, throws.
import { InvalidInputError, NotFoundError } from '../../errors.js';
import { FlatIndex } from './flat-index.js';
import { HnswIndex, type HnswSettings } from './hnsw-index.js';
import { compileFilter, type Payload, type PayloadFilter } from './payload-filter.js';
import { SlotVectors } from './slot-vectors.js';
import type { Metric, VectorIndex } from './vector-index.js';

export interface ModelReference {
  name: string;
  version: string;
  sha256: string;
}

export interface CollectionConfig {
  name: string;
  dim: number;
  metric: Metric;
  /** The embedding model images are embedded with; absent for vector-only collections. */
  model?: ModelReference;
  index: { type: 'hnsw' | 'flat' } & HnswSettings;
  created_at: string;
}

export interface Point {
  id: string;
  vector: Float32Array;
  payload?: Payload;
}

export interface SearchRequest {
  k: number;
  ef?: number;
  filter?: PayloadFilter;
  /** Slot left out of the results (search by a stored point's id). */
  exclude?: string;
  /** Field-path prefix for errors in the filter. */
  path: string;
}

export interface SearchResult {
  id: string;
  score: number;
  payload: Payload | null;
}

/** Stored state, as the collection file holds it. */
export interface CollectionSnapshot {
  config: CollectionConfig;
  slots: Array<[string | null, Payload | null]>;
  applied_jobs: string[];
  /** The store's change sequence when this was saved (absent in files written before sequences). */
  sequence?: number;
}

/** Index jobs remembered as applied, newest last; older ones fall off. */
const APPLIED_JOBS_KEPT = 1000;

/**
 * What hnswlib's HierarchicalNSW takes however small its graph: 65 536 label locks (std::mutex), 2.56 MiB
 * measured per graph, whatever the dimension. Its brute-force index (flat collections) takes next to nothing.
 */
const HNSW_FIXED_BYTES = 2_684_355;

/**
 * The memory a collection of `slots` slots (dead ones included: slots are never reused) and payloads of
 * `payloadBytes` JSON bytes takes, estimated from its process's RSS (60 000 points of 64 and 20 000 of 1 024
 * floats, flat and HNSW: 1.7–18.4 KB a point measured, this gives 2.1–17.5 KB): each vector in two arrays
 * (the collection's slots and the index's own copy) that grow by doubling, so up to four times its floats;
 * about 1 KiB a point of ids, maps and per-point objects, HNSW's links (2·m at level 0); the payloads as
 * objects at about twice their JSON; and HNSW's fixed cost. What COLLECTIONS_MEMORY_BYTES bounds
 * (collection-service.ts).
 */
export function collectionMemoryBytes(config: CollectionConfig, slots: number, payloadBytes: number): number {
  const hnsw = config.index.type === 'hnsw';
  const perSlot = 4 * 4 * config.dim + 1024 + (hnsw ? 2 * config.index.m * 4 : 0);
  return (hnsw ? HNSW_FIXED_BYTES : 0) + slots * perSlot + 2 * payloadBytes;
}

/** What `collections` take in memory together, estimated (collectionMemoryBytes). */
export function memoryOf(collections: Collection[]): number {
  return collections.reduce((sum, collection) => sum + collection.memoryBytes, 0);
}

/** Where a snapshot stood, for commit() once the file holding it is written. */
export interface SaveMark {
  slots: number;
  kills: number;
  appliedJobs: string[];
}

export class Collection {
  private readonly vectors: SlotVectors;
  private readonly index: VectorIndex;
  private readonly slotIds: Array<string | undefined> = [];
  private readonly payloads: Array<Payload | undefined> = [];
  /** Each slot's payload size as JSON, in bytes: what a search answer with payloads will carry. */
  private readonly payloadSizes: number[] = [];
  /** The sum of payloadSizes. */
  private payloadBytes = 0;
  private readonly idToSlot = new Map<string, number>();
  private readonly fieldCounts = new Map<string, number>();
  private readonly appliedJobs: string[] = [];
  private rollbackCount = 0;
  /**
   * For a collection whose store saves it whole (trackSaves): what its file holds, as far as rollback()
   * needs — its slots and applied jobs — and every slot killed since, by deletes and overwrites (slots are
   * never reused, so those past `slots` are all new).
   */
  private saved:
    | {
        slots: number;
        appliedJobs: string[];
        killed: Array<{ slot: number; id: string; payload: Payload | undefined }>;
      }
    | undefined;

  /** `saved` is what a verified collection file held (without `index`, the graph is rebuilt from the vectors). */
  constructor(
    readonly config: CollectionConfig,
    saved?: { snapshot: CollectionSnapshot; vectors: Float32Array; index?: Uint8Array },
  ) {
    this.vectors = new SlotVectors(config.dim, Math.max(1024, saved?.snapshot.slots.length ?? 0));
    const restoreGraph = saved?.index !== undefined && config.index.type === 'hnsw';
    this.index =
      config.index.type === 'hnsw'
        ? new HnswIndex(
            config.dim,
            config.metric,
            config.index,
            restoreGraph && saved?.index !== undefined
              ? { graph: saved.index, alive: saved.snapshot.slots.filter(([id]) => id !== null).length }
              : undefined,
          )
        : new FlatIndex(this.vectors, config.metric);
    if (saved === undefined) return;
    this.appliedJobs.push(...saved.snapshot.applied_jobs);
    saved.snapshot.slots.forEach(([id, payload], slot) => {
      const vector = saved.vectors.subarray(slot * config.dim, (slot + 1) * config.dim);
      this.vectors.append(vector);
      this.slotIds.push(undefined);
      this.payloads.push(undefined);
      if (id === null) {
        this.vectors.kill(slot);
        return;
      }
      this.occupy(slot, id, payload ?? undefined);
      if (!restoreGraph) this.index.add(slot, vector);
    });
  }

  /** Rollbacks so far: edits spread over several turns of the event loop check that none came between. */
  get rollbacks(): number {
    return this.rollbackCount;
  }

  get count(): number {
    return this.idToSlot.size;
  }

  /** The memory this collection takes, estimated (collectionMemoryBytes). */
  get memoryBytes(): number {
    return collectionMemoryBytes(this.config, this.slotIds.length, this.payloadBytes);
  }

  /** Checks a vector from a client and returns what is stored: float32, unit length for cosine. */
  prepareVector(values: ArrayLike<number>, path: string): Float32Array {
    if (values.length !== this.config.dim) {
      throw new InvalidInputError(
        `${path} has ${values.length} dimensions; collection '${this.config.name}' holds ${this.config.dim}`,
        [{ path, message: `must have ${this.config.dim} dimensions` }],
      );
    }
    const vector = Float32Array.from(values);
    let norm = 0;
    for (let i = 0; i < vector.length; i++) {
      const value = vector[i] as number;
      if (!Number.isFinite(value)) {
        throw new InvalidInputError(`${path}/${i} is not a finite float32`, [
          { path: `${path}/${i}`, message: 'must be a finite number within float32 range' },
        ]);
      }
      norm += value * value;
    }
    if (this.config.metric === 'cosine') {
      if (norm === 0 || !Number.isFinite(norm)) {
        throw new InvalidInputError(`${path} has no direction (zero length)`, [
          { path, message: 'a cosine collection needs a non-zero vector' },
        ]);
      }
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
    }
    return vector;
  }

  /** Inserts or replaces each point (a later duplicate id in the same batch wins). */
  upsert(points: Point[]): void {
    for (const point of points) {
      this.delete(point.id);
      const slot = this.vectors.append(point.vector);
      this.slotIds.push(undefined);
      this.payloads.push(undefined);
      this.occupy(slot, point.id, point.payload);
      this.index.add(slot, point.vector);
    }
  }

  /** Removes a point; false when there was none. */
  delete(id: string): boolean {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return false;
    this.saved?.killed.push({ slot, id, payload: this.payloads[slot] });
    this.kill(slot, id);
    return true;
  }

  /** From now on the edits since the last commit() are remembered, for rollback(); the file holds this. */
  trackSaves(): void {
    this.saved = { slots: this.slotIds.length, appliedJobs: [...this.appliedJobs], killed: [] };
  }

  /**
   * Undoes every edit since the last commit(), after a save the disk refused: its edits were not
   * acknowledged, so they must not be served, nor written by the next save. New slots die; slots the
   * edits killed come back with their ids, payloads and vectors (hnswlib only marked them deleted).
   */
  rollback(): void {
    const saved = this.saved;
    if (saved === undefined) throw new Error(`collection '${this.config.name}' does not track its saves`);
    for (let slot = saved.slots; slot < this.slotIds.length; slot++) {
      const id = this.slotIds[slot];
      if (id !== undefined) this.kill(slot, id);
    }
    for (const { slot, id, payload } of saved.killed) {
      if (slot >= saved.slots) continue;
      this.vectors.revive(slot);
      this.occupy(slot, id, payload);
      this.index.restore(slot, this.vectors.vector(slot));
    }
    saved.killed = [];
    this.appliedJobs.splice(0, this.appliedJobs.length, ...saved.appliedJobs);
    this.rollbackCount++;
  }

  /** The file now holds the snapshot taken at `mark`: a later rollback() goes back to it. */
  commit(mark: SaveMark): void {
    if (this.saved === undefined) return;
    this.saved = {
      slots: mark.slots,
      appliedJobs: mark.appliedJobs,
      killed: this.saved.killed.slice(mark.kills),
    };
  }

  private kill(slot: number, id: string): void {
    for (const field of Object.keys(this.payloads[slot] ?? {})) {
      const left = (this.fieldCounts.get(field) ?? 1) - 1;
      if (left === 0) this.fieldCounts.delete(field);
      else this.fieldCounts.set(field, left);
    }
    this.idToSlot.delete(id);
    this.slotIds[slot] = undefined;
    this.payloads[slot] = undefined;
    this.payloadBytes -= this.payloadSizes[slot] ?? 0;
    this.payloadSizes[slot] = 0;
    this.vectors.kill(slot);
    this.index.remove(slot);
  }

  /** The size of a point's payload as JSON, in bytes (0 without one). */
  payloadSize(id: string): number {
    const slot = this.idToSlot.get(id);
    return slot === undefined ? 0 : (this.payloadSizes[slot] ?? 0);
  }

  get(id: string): { id: string; vector: Float32Array; payload: Payload | null } {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) throw new NotFoundError(`collection '${this.config.name}' has no point '${id}'`);
    return { id, vector: this.vectors.vector(slot).slice(), payload: this.payloads[slot] ?? null };
  }

  search(query: Float32Array, request: SearchRequest): SearchResult[] {
    const matches =
      request.filter && compileFilter(request.filter, (field) => this.fieldCounts.has(field), request.path);
    const excluded = request.exclude === undefined ? undefined : this.idToSlot.get(request.exclude);
    const accept =
      matches === undefined && excluded === undefined
        ? undefined
        : (slot: number) => slot !== excluded && (matches === undefined || matches(this.payloads[slot]));
    const hits = this.index.search(query, {
      k: request.k,
      ...(request.ef === undefined ? {} : { ef: request.ef }),
      ...(accept === undefined ? {} : { accept }),
    });
    return hits.map(({ slot, score }) => ({
      id: this.slotIds[slot] as string,
      score,
      payload: this.payloads[slot] ?? null,
    }));
  }

  hasApplied(jobId: string): boolean {
    return this.appliedJobs.includes(jobId);
  }

  markApplied(jobId: string): void {
    this.appliedJobs.push(jobId);
    if (this.appliedJobs.length > APPLIED_JOBS_KEPT) this.appliedJobs.shift();
  }

  snapshot(): {
    snapshot: CollectionSnapshot;
    vectors: Uint8Array;
    index: Uint8Array | undefined;
    mark: SaveMark;
  } {
    const slots: Array<[string | null, Payload | null]> = this.slotIds.map((id, slot) => [
      id ?? null,
      this.payloads[slot] ?? null,
    ]);
    return {
      snapshot: { config: this.config, slots, applied_jobs: [...this.appliedJobs] },
      vectors: this.vectors.bytes(),
      index: this.index.serialize(),
      mark: {
        slots: this.slotIds.length,
        kills: this.saved?.killed.length ?? 0,
        appliedJobs: [...this.appliedJobs],
      },
    };
  }

  payloadFields(): string[] {
    return [...this.fieldCounts.keys()].sort();
  }

  private occupy(slot: number, id: string, payload: Payload | undefined): void {
    this.idToSlot.set(id, slot);
    this.slotIds[slot] = id;
    this.payloads[slot] = payload;
    this.payloadSizes[slot] = payload === undefined ? 0 : Buffer.byteLength(JSON.stringify(payload));
    this.payloadBytes += this.payloadSizes[slot];
    for (const field of Object.keys(payload ?? {})) {
      this.fieldCounts.set(field, (this.fieldCounts.get(field) ?? 0) + 1);
    }
  }
}
