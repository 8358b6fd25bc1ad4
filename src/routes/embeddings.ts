// POST /v1/embeddings: images → unit vectors, in the OpenAI embeddings shape (floats, or base64 as the
// OpenAI SDKs ask by default). Every item is checked before any inference, and the batch goes through the
// model's micro-batcher.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InvalidInputError } from '../errors.js';
import { embeddingDim, embedImages } from '../retrieval/embedding/embedder.js';
import { type ImageItem as ImageItemValue, imagesFromItems } from '../retrieval/embedding/image-input.js';
import { problems } from '../schemas/common.js';
import { DEFAULT_EMBEDDING_MODEL, EmbeddingsBody, EmbeddingsReply } from '../schemas/retrieval.js';

/** A float32 vector's bytes in little-endian order, whatever the machine's byte order. */
function littleEndianBytes(vector: Float32Array): Uint8Array {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4));
  vector.forEach((value, index) => {
    bytes.setFloat32(index * 4, value, true);
  });
  return new Uint8Array(bytes.buffer);
}

/** A plain array of the vector's numbers: a loop, a few times faster than Array.from on a typed array. */
function floats(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let index = 0; index < vector.length; index++) out[index] = vector[index] as number;
  return out;
}

const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/embeddings',
    {
      config: { family: 'inference', errors: 'openai' },
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags: ['retrieval'],
        summary: 'Embed images as unit vectors (OpenAI embeddings shape)',
        body: EmbeddingsBody,
        response: { 200: EmbeddingsReply, ...problems(400, 404, 413, 415, 422, 503) },
      },
    },
    async (request) => {
      const { model, input, encoding_format: encoding, dimensions } = request.body;
      const entry = app.models.get(model ?? DEFAULT_EMBEDDING_MODEL).entry;
      const dim = embeddingDim(entry);
      if (dimensions !== undefined && dimensions !== dim) {
        throw new InvalidInputError(
          `${entry.name} embeds in ${dim} dimensions; it cannot give ${dimensions}`,
          [{ path: '/body/dimensions', message: `must be ${dim} (or absent)` }],
        );
      }
      const items: ImageItemValue[] = typeof input === 'string' ? [input] : input;
      const paths =
        typeof input === 'string' ? ['/body/input'] : items.map((_, index) => `/body/input/${index}`);
      const images = await imagesFromItems(items, paths, app.images, request.cancellation);
      const vectors = await embedImages(app.models, entry, images, request.cancellation);
      return {
        object: 'list' as const,
        data: vectors.map((vector, index) => ({
          object: 'embedding' as const,
          index,
          embedding:
            encoding === 'base64'
              ? Buffer.from(littleEndianBytes(vector)).toString('base64')
              : floats(vector),
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
