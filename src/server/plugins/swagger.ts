// OpenAPI 3.1 at /openapi.json and Swagger UI at /docs, generated from the routes' TypeBox schemas.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const openapiInfo = {
  title: 'meanserve',
  version: '0.1.0',
  description:
    'Inference serving for recent methods: one-step generation (MeanFlow), antidistillation sampling, ' +
    'metric-embedding retrieval and queued mean-field solver jobs. Errors are RFC 9457 problem details.',
};

async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      tags: [
        { name: 'ops', description: 'Health, readiness, metrics' },
        { name: 'models', description: 'Served models' },
        { name: 'oip', description: 'Open Inference Protocol v2 (KServe / Triton REST)' },
        { name: 'jobs', description: 'Asynchronous jobs' },
        {
          name: 'generation',
          description: 'One-step image generation (MeanFlow) and its flow-matching baseline',
        },
      ],
    },
    hideUntagged: true,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(swaggerPlugin, { name: 'swagger' });
