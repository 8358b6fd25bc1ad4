// The collections service behind /v1/collections: creating a collection for an embedding model or a
// dimension, upserting points given as vectors or images (embedded with the collection's model, every point
// checked before anything is written) and searching by vector, image or stored id. Routes reach it as
// `fastify.retrieval`; the store (collections/collection-store.ts) keeps the collections. Writes answer
// with the change sequence they produced; reads may name one to wait for (read-your-writes on replicas).
import { setImmediate } from 'node:timers/promises';
import type { Static } from '@sinclair/typebox';
import {
  ConflictError,
  type FieldError,
  InvalidInputError,
  StorageFullError,
  TooLargeError,
  throwFieldErrors,
  UnavailableError,
  UnprocessableError,
} from '../errors.js';
import type { Abortable } from '../lib/abortable.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ManifestEntry } from '../schemas/manifest.js';
import {
  type CreateCollectionBody,
  MAX_ANSWER_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  type SearchBody,
  type UpsertBody,
} from '../schemas/retrieval.js';
import {
  type Collection,
  type CollectionConfig,
  collectionMemoryBytes,
  memoryOf,
  type SearchResult,
} from './collections/collection.js';
import type { CollectionStore } from './collections/collection-store.js';
import { unstorableText } from './collections/storable-text.js';
import { embeddingDim, embedImages } from './embedding/embedder.js';
import type { ImageDecoder } from './embedding/image-decoder.js';
import { type ImageItem, imagesFromItems } from './embedding/image-input.js';

export type SearchQuery = Static<typeof SearchBody>;

/** How long a read that names a min_sequence waits for this replica to reach it. */
export const CATCH_UP_WAIT_MS = 5000;

/** A client that names the model its vectors come from must name the collection's. */
function checkModel(collection: Collection, model: string | undefined, path: string): void {
  if (model === undefined || model === collection.config.model?.name) return;
  const held = collection.config.model
    ? `vectors of ${collection.config.model.name}`
    : 'vectors of no named model';
  throw new UnprocessableError(
    `${path}: collection '${collection.config.name}' holds ${held}, not of ${model}`,
    [{ path, message: "must be the collection's model" }],
  );
}

/** Exactly one of the listed fields must be present. */
function exactlyOne(body: Record<string, unknown>, fields: string[], path: string): string {
  const present = fields.filter((field) => body[field] !== undefined);
  if (present.length !== 1) {
    throw new InvalidInputError(`${path}: give exactly one of ${fields.join(', ')}`, [
      {
        path: present.length > 1 ? `${path}/${present[1]}` : path,
        message: `exactly one of ${fields.join(', ')}`,
      },
    ]);
  }
  return present[0] as string;
}

/**
 * The longest a batch of searches holds the event loop at once, ms. A query for 1 000 of 60 000 points
 * takes ~2.7 ms (flat or HNSW), so a batch of 256 took 0.7 s in one go, and sixteen such batches at once
 * (a 40 KB request each) left /health/live unanswered for more than 10 s — long enough for a liveness probe
 * to restart the server.
 */
const SEARCH_SLICE_MS = 10;

export class CollectionService {
  constructor(
    private readonly store: CollectionStore,
    private readonly models: ModelRegistry,
    private readonly images: ImageDecoder,
    /** COLLECTIONS_MEMORY_BYTES: what the collections may take together, estimated; 0 for no bound. */
    private readonly memoryLimit = 0,
  ) {}

  /** Estimated bytes of creates and upserts under way (reserveMemory). */
  private memoryPending = 0;

  /** Creates a collection; its dimension comes from its embedding model, or is given for vectors only. */
  create(body: Static<typeof CreateCollectionBody>): Promise<{ collection: Collection; sequence: number }> {
    const { name, model, dim, metric, index } = body;
    exactlyOne(body, ['model', 'dim'], '/body');
    const base = { name, metric, index, created_at: new Date().toISOString() };
    let config: CollectionConfig;
    if (model !== undefined) {
      const entry = this.models.get(model).entry;
      config = {
        ...base,
        dim: embeddingDim(entry),
        model: { name: entry.name, version: entry.version, sha256: entry.sha256 },
      };
    } else {
      config = { ...base, dim: dim as number };
    }
    const release = this.reserveMemory(collectionMemoryBytes(config, 0, 0), 'a new collection');
    return this.store.create(config).finally(release);
  }

  /** Inserts or replaces points, all or nothing; the collection's count afterwards and the change's sequence. */
  async upsert(
    name: string,
    body: Static<typeof UpsertBody>,
    signal?: Abortable,
  ): Promise<{ count: number; sequence: number }> {
    await this.caughtUp(body.min_sequence, signal);
    const collection = this.store.get(name);
    const { points } = body;
    checkModel(collection, body.model, '/body/model');
    const paths = points.map((_, at) => `/body/points/${at}`);
    const payloadSizes = points.map((point) =>
      point.payload === undefined ? 0 : Buffer.byteLength(JSON.stringify(point.payload)),
    );
    throwFieldErrors(
      points.flatMap((point, at) => {
        const found =
          unstorableText(point.id, `${paths[at]}/id`) ??
          unaddressableId(point.id, `${paths[at]}/id`) ??
          unstorableText(point.payload, `${paths[at]}/payload`) ??
          oversizedPayload(payloadSizes[at] as number, `${paths[at]}/payload`);
        return found === undefined ? [] : [found as FieldError];
      }),
    );
    const payloadBytes = payloadSizes.reduce((sum, bytes) => sum + bytes, 0);
    // Before any image is embedded: each point takes a new slot (an overwritten one is only marked dead).
    const release = this.reservePoints(
      collection.config,
      points.length,
      payloadBytes,
      `these ${points.length} points`,
    );
    try {
      // No 'id' among the fields: a point's own id names the point, it is not a vector to copy.
      const vectors = await this.vectorsOf(collection, points, paths, ['vector', 'image'], signal);
      const prepared = points.map((point, at) => ({
        id: point.id,
        vector: vectors[at] as Float32Array,
        ...(point.payload === undefined ? {} : { payload: point.payload }),
      }));
      // The collection may have been deleted (404) or re-created (409) while the images were embedded.
      const sequence = await this.store.upsert(collection, prepared);
      return { count: collection.count, sequence };
    } finally {
      release();
    }
  }

  /** 507 when `points` more points of `payloadBytes` would not fit (reserveMemory), for a job at submit. */
  fits(name: string, points: number, payloadBytes: number): void {
    this.reservePoints(this.store.get(name).config, points, payloadBytes, `indexing ${points} points`)();
  }

  /** reserveMemory for `points` new slots of a collection, with payloads of `payloadBytes` JSON bytes. */
  private reservePoints(
    config: CollectionConfig,
    points: number,
    payloadBytes: number,
    what: string,
  ): () => void {
    const adding = collectionMemoryBytes(config, points, payloadBytes) - collectionMemoryBytes(config, 0, 0);
    return this.reserveMemory(adding, what);
  }

  /**
   * 507 when a change would take the collections past COLLECTIONS_MEMORY_BYTES (collectionMemoryBytes): an
   * HNSW graph takes 2.56 MiB however empty, so without a bound 2 000 empty collections, one
   * small request each, took the server from 0.45 to 5.9 GB, and upserts could go on until it died.
   */
  private reserveMemory(adding: number, what: string): () => void {
    if (this.memoryLimit === 0) return () => {};
    // Changes under way count too: they are in no collection yet.
    const held = this.memoryPending + memoryOf(this.store.list());
    if (held + adding > this.memoryLimit) {
      throw new StorageFullError(
        `the collections take an estimated ${held} bytes of the ${this.memoryLimit} COLLECTIONS_MEMORY_BYTES allows, and ${what} would add ${adding}: delete points or collections, or raise the limit`,
      );
    }
    this.memoryPending += adding;
    return () => {
      this.memoryPending -= adding;
    };
  }

  /** Resolves once this replica reflects change `sequence`; 503 when it does not within CATCH_UP_WAIT_MS. */
  async caughtUp(sequence: number | undefined, signal?: Abortable): Promise<void> {
    if (sequence === undefined || (await this.store.reached(sequence, CATCH_UP_WAIT_MS, signal))) return;
    throw new UnavailableError(
      `this replica reflects collection changes up to ${this.store.sequence}, not yet ${sequence}; retry shortly`,
      1,
    );
  }

  /**
   * Each query's hits, in order, and the change sequence they reflect, once this replica reflects
   * `minSequence`; `paths` name the queries.
   */
  async search(
    name: string,
    queries: SearchQuery[],
    paths: string[],
    options: { minSequence?: number | undefined; signal?: Abortable | undefined } = {},
  ): Promise<{ results: SearchResult[][]; sequence: number; payloadBytes: number }> {
    const { minSequence, signal } = options;
    await this.caughtUp(minSequence, signal);
    const collection = this.store.get(name);
    queries.forEach((query, at) => {
      checkModel(collection, query.model, `${paths[at]}/model`);
    });
    const vectors = await this.vectorsOf(collection, queries, paths, ['vector', 'image', 'id'], signal);
    const sequence = this.store.sequence;
    const results: SearchResult[][] = [];
    let slice = performance.now();
    for (const [at, query] of queries.entries()) {
      // Searches run on the event loop: a batch gives it back every SEARCH_SLICE_MS (see there).
      if (performance.now() - slice > SEARCH_SLICE_MS) {
        await setImmediate();
        if (signal?.aborted) throw signal.reason;
        slice = performance.now();
      }
      const hits = collection.search(vectors[at] as Float32Array, {
        k: query.k,
        path: `${paths[at]}/filter`,
        ...(query.ef === undefined ? {} : { ef: query.ef }),
        ...(query.filter === undefined ? {} : { filter: query.filter }),
        ...(query.id === undefined ? {} : { exclude: query.id }),
      });
      results.push(query.with_payload ? hits : hits.map((hit) => ({ ...hit, payload: null })));
    }
    const payloadBytes = answerPayloadBytes(collection, queries, results, paths);
    return { results, sequence, payloadBytes };
  }

  /** The served model a collection embeds images with; 409 when it has changed since the collection was made. */
  private modelOf(collection: Collection, path: string): ManifestEntry {
    const reference = collection.config.model;
    if (reference === undefined) {
      throw new UnprocessableError(
        `collection '${collection.config.name}' has no embedding model; send vectors`,
        [{ path, message: 'this collection takes vectors only' }],
      );
    }
    const entry = this.models.get(reference.name, reference.version).entry;
    if (entry.sha256 !== reference.sha256) {
      throw new ConflictError(
        `model ${reference.name}@${reference.version} changed since collection '${collection.config.name}' was built`,
      );
    }
    return entry;
  }

  /**
   * The vector of each item, in order: given (checked and prepared), a stored point's (by `id`, where
   * `fields` allows it) or embedded from its image with the collection's model, all images in one go.
   */
  private async vectorsOf(
    collection: Collection,
    items: Array<{ vector?: number[]; image?: ImageItem; id?: string }>,
    paths: string[],
    fields: string[],
    signal: Abortable | undefined,
  ): Promise<Float32Array[]> {
    const vectors: Array<Float32Array | undefined> = [];
    const images: Array<{ item: ImageItem; path: string; at: number }> = [];
    items.forEach((item, at) => {
      const path = paths[at] as string;
      const field = exactlyOne(item, fields, path);
      if (field === 'vector')
        vectors[at] = collection.prepareVector(item.vector as number[], `${path}/vector`);
      else if (field === 'id') vectors[at] = collection.get(item.id as string).vector;
      else images.push({ item: item.image as ImageItem, path: `${path}/image`, at });
    });
    if (images.length > 0) {
      const entry = this.modelOf(collection, (images[0] as { path: string }).path);
      const pixels = await imagesFromItems(
        images.map(({ item }) => item),
        images.map(({ path }) => path),
        this.images,
        signal,
      );
      const embedded = await embedImages(this.models, entry, pixels, signal);
      images.forEach(({ at }, index) => {
        vectors[at] = embedded[index];
      });
    }
    return vectors as Float32Array[];
  }
}

/**
 * A point is read and deleted at /v1/collections/{name}/points/{id}, and URL parsers (fetch, curl) resolve a
 * segment `.` or `..` — percent-encoded too — before the request leaves: such an id could be stored and never
 * addressed.
 */
function unaddressableId(id: string, path: string): FieldError | undefined {
  if (id !== '.' && id !== '..') return undefined;
  return {
    path,
    message: `cannot be '${id}': clients resolve it in the point's URL, which could not name it`,
  };
}

function oversizedPayload(bytes: number, path: string): FieldError | undefined {
  if (bytes <= MAX_PAYLOAD_BYTES) return undefined;
  return { path, message: `is ${bytes} bytes as JSON; a payload may have ${MAX_PAYLOAD_BYTES}` };
}

/**
 * The bytes of JSON the payloads of an answer come to, known before it is built; 413 when they would pass
 * MAX_ANSWER_PAYLOAD_BYTES, naming the query where they do.
 */
function answerPayloadBytes(
  collection: Collection,
  queries: SearchQuery[],
  results: SearchResult[][],
  paths: string[],
): number {
  let bytes = 0;
  results.forEach((hits, at) => {
    if (!queries[at]?.with_payload) return;
    for (const hit of hits) bytes += collection.payloadSize(hit.id);
    if (bytes > MAX_ANSWER_PAYLOAD_BYTES) {
      const path = `${paths[at]}/k`;
      throw new TooLargeError(
        `the payloads of these results come to more than ${MAX_ANSWER_PAYLOAD_BYTES} bytes, the most one answer carries: ask for fewer results, or for them without payloads (with_payload: false)`,
        [{ path, message: `the answer's payloads pass ${MAX_ANSWER_PAYLOAD_BYTES} bytes here` }],
      );
    }
  });
  return bytes;
}
