// Vector collections: create / list / describe / delete, batch upsert of points given as vectors or
// images (embedded with the collection's model), get and delete points, and k-NN search by vector, image
// or stored id, singly or in batches. Every point and query is checked before anything is written.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Collection } from '../retrieval/collections/collection.js';
import type { DamagedCollection } from '../retrieval/collections/collection-store.js';
import { NoContent, problems } from '../schemas/common.js';
import {
  BatchSearchBody,
  BatchSearchReply,
  CollectionDescription,
  CollectionInfo,
  CollectionList,
  CollectionPath,
  CreateCollectionBody,
  PointPath,
  PointReply,
  RecoveryReply,
  SearchBody,
  SearchReply,
  UpsertBody,
  UpsertReply,
} from '../schemas/retrieval.js';

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

const tags = ['retrieval'];

const collectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.collections;

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
      const collection = await app.retrieval.create(request.body);
      const { name, dim, index } = collection.config;
      request.log.info({ collection: name, dim, index: index.type }, 'collection created');
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
        params: CollectionPath,
        response: { 200: CollectionDescription, ...problems(400, 404) },
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
        params: CollectionPath,
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
        params: CollectionPath,
        response: { 204: NoContent, ...problems(400, 404) },
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
        params: CollectionPath,
        body: UpsertBody,
        response: {
          200: UpsertReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const count = await app.retrieval.upsert(request.params.name, request.body, request.work);
      return { upserted: request.body.points.length, count };
    },
  );

  app.get(
    '/v1/collections/:name/points/:id',
    {
      schema: {
        tags,
        summary: 'Read a point: its vector (as stored) and payload',
        params: PointPath,
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
        params: PointPath,
        response: { 204: NoContent, ...problems(400, 404) },
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
        params: CollectionPath,
        body: SearchBody,
        response: {
          200: SearchReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const started = performance.now();
      const [results] = await app.retrieval.search(
        request.params.name,
        [request.body],
        ['/body'],
        request.work,
      );
      return { results: results ?? [], took_ms: Math.round((performance.now() - started) * 1000) / 1000 };
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
        params: CollectionPath,
        body: BatchSearchBody,
        response: {
          200: BatchSearchReply,
          ...problems(400, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const started = performance.now();
      const { queries } = request.body;
      const paths = queries.map((_, index) => `/body/queries/${index}`);
      const results = await app.retrieval.search(request.params.name, queries, paths, request.work);
      return { results, took_ms: Math.round((performance.now() - started) * 1000) / 1000 };
    },
  );
};

export default collectionRoutes;
