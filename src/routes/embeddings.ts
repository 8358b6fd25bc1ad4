// POST /v1/embeddings: images → unit vectors, in the OpenAI embeddings shape. Every item is checked
// before any inference, and the batch goes through the model's micro-batcher.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DEFAULT_EMBEDDING_MODEL, embedImages } from '../retrieval/embedding/embedder.js';
import { type ImageItem as ImageItemValue, imagesFromItems } from '../retrieval/embedding/image-input.js';
import { ModelName, problems } from '../schemas/common.js';
import { ImageItem } from '../schemas/retrieval.js';

const EmbeddingsBody = Type.Object(
  {
    model: Type.Optional({
      ...ModelName,
      description: `An embedding model; default ${DEFAULT_EMBEDDING_MODEL}.`,
    }),
    input: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(ImageItem, { minItems: 1, maxItems: 1024 })],
      {
        description: 'One base64 PNG, or a list of images (base64 PNGs or 28×28 intensity arrays).',
      },
    ),
    encoding_format: Type.Literal('float', { default: 'float', description: 'Only float is offered.' }),
  },
  { additionalProperties: false, examples: [{ input: ['iVBORw0KGgo…'] }] },
);

const EmbeddingsReply = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({
      object: Type.Literal('embedding'),
      index: Type.Integer(),
      embedding: Type.Array(Type.Number()),
    }),
  ),
  model: Type.String(),
  model_version: Type.String(),
  model_sha256: Type.String(),
  usage: Type.Object(
    { prompt_tokens: Type.Integer(), total_tokens: Type.Integer() },
    { description: 'One "token" per image, for clients that expect OpenAI usage fields.' },
  ),
});

const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/embeddings',
    {
      config: { family: 'inference' },
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags: ['retrieval'],
        summary: 'Embed images as unit vectors (OpenAI embeddings shape)',
        body: EmbeddingsBody,
        response: { 200: EmbeddingsReply, ...problems(400, 404, 413, 415, 422, 503) },
      },
    },
    async (request) => {
      const { model, input } = request.body;
      const entry = app.models.get(model ?? DEFAULT_EMBEDDING_MODEL).entry;
      const items: ImageItemValue[] = typeof input === 'string' ? [input] : input;
      const paths =
        typeof input === 'string' ? ['/body/input'] : items.map((_, index) => `/body/input/${index}`);
      const images = await imagesFromItems(items, paths, app.images, request.work);
      const vectors = await embedImages(app.models, entry, images, request.work);
      return {
        object: 'list' as const,
        data: vectors.map((vector, index) => ({
          object: 'embedding' as const,
          index,
          embedding: Array.from(vector),
        })),
        model: entry.name,
        model_version: entry.version,
        model_sha256: entry.sha256,
        usage: { prompt_tokens: images.length, total_tokens: images.length },
      };
    },
  );
};

export default embeddingRoutes;
