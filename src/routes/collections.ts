// Vector collections: create / list / describe / delete, batch upsert of points given as vectors or
// images (embedded with the collection's model), get and delete points, and k-NN search by vector, image
// or stored id, singly or in batches. Every point and query is checked before anything is written.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { ConflictError, InvalidInputError, UnprocessableError } from '../errors.js';
import type { Collection, CollectionConfig } from '../retrieval/collections/collection.js';
import type { DamagedCollection } from '../retrieval/collections/collection-store.js';
import { embeddingDim, embedImages } from '../retrieval/embedding/embedder.js';
import { type ImageItem, imagesFromItems } from '../retrieval/embedding/image-input.js';
import { problems } from '../schemas/common.js';
import type { ManifestEntry } from '../schemas/manifest.js';
import {
  BatchSearchReply,
  CollectionInfo,
  CollectionList,
  CollectionName,
  CreateCollectionBody,
  DamagedCollectionInfo,
  PointId,
  PointReply,
  RecoveryReply,
  SearchBody,
  SearchReply,
  UpsertBody,
  UpsertReply,
} from '../schemas/retrieval.js';

type Search = Static<typeof SearchBody>;

function describe(collection: Collection) {
  const { config } = collection;
  return {
    name: config.name,
    state: 'ready' as const,
    dim: config.dim,
    metric: config.metric,
    model: config.model ?? null,
    index: config.index,
    count: collection.count,
    payload_fields: collection.payloadFields(),
    created_at: config.created_at,
  };
}

function describeDamaged(damaged: DamagedCollection) {
  return {
    name: damaged.name,
    state: 'damaged' as const,
    damage: damaged.damage,
    detected_at: damaged.detectedAt,
  };
}

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

const NameParams = Type.Object({ name: CollectionName });
const PointParams = Type.Object({ name: CollectionName, id: PointId });
const tags = ['retrieval'];

const collectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.collections;

  /** The served model a collection embeds images with; 409 when it has changed since the collection was made. */
  const modelOf = (collection: Collection, path: string): ManifestEntry => {
    const reference = collection.config.model;
    if (reference === undefined) {
      throw new UnprocessableError(
        `collection '${collection.config.name}' has no embedding model; send vectors`,
        [{ path, message: 'this collection takes vectors only' }],
      );
    }
    const entry = app.models.get(reference.name, reference.version).entry;
    if (entry.sha256 !== reference.sha256) {
      throw new ConflictError(
        `model ${reference.name}@${reference.version} changed since collection '${collection.config.name}' was built`,
      );
    }
    return entry;
  };

  /**
   * The vector of each item, in order: given (checked and prepared), a stored point's (by `id`, where
   * `fields` allows it) or embedded from its image with the collection's model, all images in one go.
   */
  const vectorsOf = async (
    collection: Collection,
    items: Array<{ vector?: number[]; image?: ImageItem; id?: string }>,
    paths: string[],
    fields: string[],
    signal: AbortSignal | undefined,
  ): Promise<Float32Array[]> => {
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
      const entry = modelOf(collection, (images[0] as { path: string }).path);
      const pixels = await imagesFromItems(
        images.map(({ item }) => item),
        images.map(({ path }) => path),
        app.images,
        signal,
      );
      const embedded = await embedImages(app.models, entry, pixels, signal);
      images.forEach(({ at }, index) => {
        vectors[at] = embedded[index];
      });
    }
    return vectors as Float32Array[];
  };

  /** Query vectors for searches, in order. */
  const queryVectors = (
    collection: Collection,
    searches: Search[],
    paths: string[],
    signal: AbortSignal | undefined,
  ) => {
    searches.forEach((search, at) => {
      checkModel(collection, search.model, `${paths[at]}/model`);
    });
    return vectorsOf(collection, searches, paths, ['vector', 'image', 'id'], signal);
  };

  const runSearch = (collection: Collection, search: Search, vector: Float32Array, path: string) => {
    const hits = collection.search(vector, {
      k: search.k,
      path: `${path}/filter`,
      ...(search.ef === undefined ? {} : { ef: search.ef }),
      ...(search.filter === undefined ? {} : { filter: search.filter }),
      ...(search.id === undefined ? {} : { exclude: search.id }),
    });
    return search.with_payload ? hits : hits.map((hit) => ({ ...hit, payload: null }));
  };

  app.post(
    '/v1/collections',
    {
      schema: {
        tags,
        summary: 'Create a collection for an embedding model (images and vectors) or a dimension (vectors)',
        body: CreateCollectionBody,
        response: { 201: CollectionInfo, ...problems(400, 404, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const { name, model, dim, metric, index } = request.body;
      exactlyOne(request.body, ['model', 'dim'], '/body');
      let config: CollectionConfig;
      const base = { name, metric, index, created_at: new Date().toISOString() };
      if (model !== undefined) {
        const entry = app.models.get(model).entry;
        config = {
          ...base,
          dim: embeddingDim(entry),
          model: { name: entry.name, version: entry.version, sha256: entry.sha256 },
        };
      } else {
        config = { ...base, dim: dim as number };
      }
      const collection = await store.create(config);
      request.log.info({ collection: name, dim: config.dim, index: index.type }, 'collection created');
      reply.code(201).header('location', `/v1/collections/${name}`);
      return describe(collection);
    },
  );

  app.get(
    '/v1/collections',
    {
      schema: {
        tags,
        summary: 'List collections',
        response: { 200: CollectionList },
      },
    },
    async () => ({ data: store.list().map(describe), damaged: store.damagedList().map(describeDamaged) }),
  );

  app.get(
    '/v1/collections/:name',
    {
      schema: {
        tags,
        summary: 'Describe a collection: count, model, index settings, payload fields (or its damage)',
        params: NameParams,
        response: { 200: Type.Union([CollectionInfo, DamagedCollectionInfo]), ...problems(400, 404) },
      },
    },
    async (request) => {
      const found = store.describe(request.params.name);
      return 'damage' in found ? describeDamaged(found) : describe(found);
    },
  );

  app.post(
    '/v1/collections/:name/recover',
    {
      schema: {
        tags,
        summary:
          'Rebuild a damaged collection from the points of its file that pass their checksums (the damaged ' +
          'file is kept aside)',
        params: NameParams,
        response: { 200: RecoveryReply, ...problems(400, 404, 409, 422) },
      },
    },
    async (request) => {
      const report = await store.recover(request.params.name);
      return {
        recovered: report.recovered,
        lost: report.lost,
        kept_aside: report.keptAside,
        collection: describe(report.collection),
      };
    },
  );

  app.delete(
    '/v1/collections/:name',
    {
      schema: {
        tags,
        summary: 'Delete a collection and its file (a damaged one’s file is kept aside)',
        params: NameParams,
        response: { 204: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await store.drop(request.params.name);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/collections/:name/points',
    {
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags,
        summary: 'Insert or replace points (all or nothing: one bad point rejects the batch)',
        params: NameParams,
        body: UpsertBody,
        response: {
          200: UpsertReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const collection = store.get(request.params.name);
      const { points } = request.body;
      checkModel(collection, request.body.model, '/body/model');
      const paths = points.map((_, at) => `/body/points/${at}`);
      // No 'id' among the fields: a point's own id names the point, it is not a vector to copy.
      const vectors = await vectorsOf(collection, points, paths, ['vector', 'image'], request.work);
      const prepared = points.map((point, at) => ({
        id: point.id,
        vector: vectors[at] as Float32Array,
        ...(point.payload === undefined ? {} : { payload: point.payload }),
      }));
      // The collection may have been deleted while the images were embedded: change() looks it up again.
      await store.change(collection.config.name, (target) => {
        if (target !== collection)
          throw new ConflictError(`collection '${collection.config.name}' was re-created`);
        target.upsert(prepared);
      });
      return { upserted: prepared.length, count: collection.count };
    },
  );

  app.get(
    '/v1/collections/:name/points/:id',
    {
      schema: {
        tags,
        summary: 'Read a point: its vector (as stored) and payload',
        params: PointParams,
        response: {
          200: PointReply,
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      const point = store.get(request.params.name).get(request.params.id);
      return { ...point, vector: Array.from(point.vector) };
    },
  );

  app.delete(
    '/v1/collections/:name/points/:id',
    {
      schema: {
        tags,
        summary: 'Delete a point',
        params: PointParams,
        response: { 204: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { name, id } = request.params;
      store.get(name).get(id); // 404 before anything changes
      await store.change(name, (collection) => collection.delete(id));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/collections/:name/search',
    {
      config: { family: 'inference' },
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags,
        summary: 'k nearest points to a vector, an image or a stored point, optionally filtered by payload',
        params: NameParams,
        body: SearchBody,
        response: {
          200: SearchReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const started = performance.now();
      const collection = store.get(request.params.name);
      const [vector] = await queryVectors(collection, [request.body], ['/body'], request.work);
      const results = runSearch(collection, request.body, vector as Float32Array, '/body');
      return { results, took_ms: Math.round((performance.now() - started) * 1000) / 1000 };
    },
  );

  app.post(
    '/v1/collections/:name/search/batch',
    {
      config: { family: 'inference' },
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags,
        summary: 'Many searches in one request; results in query order',
        params: NameParams,
        body: Type.Object(
          { queries: Type.Array(SearchBody, { minItems: 1, maxItems: 256 }) },
          {
            additionalProperties: false,
            examples: [
              {
                queries: [
                  { id: 'test-0', k: 8 },
                  { id: 'test-1', k: 8 },
                ],
              },
            ],
          },
        ),
        response: {
          200: BatchSearchReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const started = performance.now();
      const collection = store.get(request.params.name);
      const { queries } = request.body;
      const paths = queries.map((_, index) => `/body/queries/${index}`);
      const vectors = await queryVectors(collection, queries, paths, request.work);
      const results = queries.map((query, index) =>
        runSearch(collection, query, vectors[index] as Float32Array, paths[index] as string),
      );
      return { results, took_ms: Math.round((performance.now() - started) * 1000) / 1000 };
    },
  );
};

export default collectionRoutes;
