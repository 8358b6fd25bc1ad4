// Vector collections: create / list / describe / delete, batch upsert of points given as vectors or
// images (embedded with the collection's model), get and delete points, and k-NN search by vector, image
// or stored id, singly or in batches. Every point and query is checked before anything is written. Every
// answer carries the change sequence it reflects or produced (in the body, or the Meanserve-Sequence
// header of a 204), and every request takes min_sequence to wait until this replica has caught up with a
// write first (read-your-writes through any replica).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Collection } from '../retrieval/collections/collection.js';
import type { DamagedCollection } from '../retrieval/collections/collection-store.js';
import { LARGE_ANSWER_BYTES, NoContent, problems } from '../schemas/common.js';
import {
  BatchSearchBody,
  BatchSearchReply,
  CollectionDescription,
  CollectionInfo,
  CollectionList,
  CollectionPath,
  CreateCollectionBody,
  MinSequenceQuery,
  PointPath,
  PointReply,
  RecoveryReply,
  SearchBody,
  SearchReply,
  UpsertBody,
  UpsertReply,
} from '../schemas/retrieval.js';

/** The header that carries the change sequence of an answer without a body. */
export const SEQUENCE_HEADER = 'meanserve-sequence';

function noContent(reply: FastifyReply, sequence: number) {
  return reply.code(204).header(SEQUENCE_HEADER, String(sequence)).send(null);
}

function describe(collection: Collection, sequence: number) {
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
    sequence,
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
        response: { 201: CollectionInfo, ...problems(400, 404, 409, 415, 422, 503, 507) },
      },
    },
    async (request, reply) => {
      const { collection, sequence } = await app.retrieval.create(request.body);
      const { name, dim, index } = collection.config;
      request.log.info({ collection: name, dim, index: index.type, sequence }, 'collection created');
      reply.code(201).header('location', `/v1/collections/${name}`);
      return describe(collection, sequence);
    },
  );

  app.get(
    '/v1/collections',
    {
      schema: {
        tags,
        summary: 'List collections',
        querystring: MinSequenceQuery,
        response: { 200: CollectionList, ...problems(400, 503) },
      },
    },
    async (request) => {
      await app.retrieval.caughtUp(request.query.min_sequence, request.cancellation);
      const sequence = store.sequence;
      return {
        data: store.list().map((collection) => describe(collection, sequence)),
        damaged: store.damagedList().map(describeDamaged),
      };
    },
  );

  app.get(
    '/v1/collections/:name',
    {
      schema: {
        tags,
        summary: 'Describe a collection: count, model, index settings, payload fields (or its damage)',
        params: CollectionPath,
        querystring: MinSequenceQuery,
        response: { 200: CollectionDescription, ...problems(400, 404, 503) },
      },
    },
    async (request) => {
      await app.retrieval.caughtUp(request.query.min_sequence, request.cancellation);
      const found = store.describe(request.params.name);
      return 'damage' in found ? describeDamaged(found) : describe(found, store.sequence);
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
        response: { 200: RecoveryReply, ...problems(400, 404, 409, 422, 503, 507) },
      },
    },
    async (request) => {
      const report = await store.recover(request.params.name);
      return {
        recovered: report.recovered,
        lost: report.lost,
        kept_aside: report.keptAside,
        collection: describe(report.collection, report.sequence),
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
        querystring: MinSequenceQuery,
        response: { 204: NoContent, ...problems(400, 404, 503, 507) },
      },
    },
    async (request, reply) => {
      await app.retrieval.caughtUp(request.query.min_sequence, request.cancellation);
      return noContent(reply, await store.drop(request.params.name));
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
          ...problems(400, 404, 409, 413, 415, 422, 503, 507),
        },
      },
    },
    async (request) => {
      const { count, sequence } = await app.retrieval.upsert(
        request.params.name,
        request.body,
        request.cancellation,
      );
      return { upserted: request.body.points.length, count, sequence };
    },
  );

  app.get(
    '/v1/collections/:name/points/:id',
    {
      schema: {
        tags,
        summary: 'Read a point: its vector (as stored) and payload',
        params: PointPath,
        querystring: MinSequenceQuery,
        response: {
          200: PointReply,
          ...problems(400, 404, 503),
        },
      },
    },
    async (request) => {
      await app.retrieval.caughtUp(request.query.min_sequence, request.cancellation);
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
        querystring: MinSequenceQuery,
        response: { 204: NoContent, ...problems(400, 404, 503, 507) },
      },
    },
    async (request, reply) => {
      await app.retrieval.caughtUp(request.query.min_sequence, request.cancellation);
      const { name, id } = request.params;
      return noContent(reply, await store.deletePoint(name, id));
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
    async (request, reply) => {
      const started = performance.now();
      const { results, sequence, payloadBytes } = await app.retrieval.search(
        request.params.name,
        [request.body],
        ['/body'],
        {
          minSequence: request.body.min_sequence,
          signal: request.cancellation,
        },
      );
      reserveLargeAnswer(reply, payloadBytes);
      return {
        results: results[0] ?? [],
        took_ms: Math.round((performance.now() - started) * 1000) / 1000,
        sequence,
      };
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
    async (request, reply) => {
      const started = performance.now();
      const { queries } = request.body;
      const paths = queries.map((_, index) => `/body/queries/${index}`);
      const minSequence = Math.max(
        request.body.min_sequence ?? 0,
        ...queries.map((q) => q.min_sequence ?? 0),
      );
      const { results, sequence, payloadBytes } = await app.retrieval.search(
        request.params.name,
        queries,
        paths,
        { minSequence, signal: request.cancellation },
      );
      reserveLargeAnswer(reply, payloadBytes);
      return { results, took_ms: Math.round((performance.now() - started) * 1000) / 1000, sequence };
    },
  );
};

/**
 * Charges an answer with large payloads to the budget of answers being sent (plugins/answer-budget.ts)
 * before it is built: a refused one is not serialized at all.
 */
function reserveLargeAnswer(reply: FastifyReply, payloadBytes: number): void {
  if (payloadBytes >= LARGE_ANSWER_BYTES) reply.reserveAnswer(payloadBytes);
}

export default collectionRoutes;
