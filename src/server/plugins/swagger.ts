// OpenAPI 3.1 at /openapi.json and Swagger UI at /docs, generated from the routes' TypeBox schemas and
// polished for generators and linters (openapi-document.ts).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SERVICE } from '../../lib/service-info.js';
import { problems } from '../../schemas/common.js';
import { ERROR_MEDIA, NULL_IS_ABSENT, polishOpenapi } from './openapi-document.js';
import { errorMediaType, familyOf, isAdmin, isOpen, takesNullAsAbsent } from './route-policy.js';

const openapiInfo = {
  title: SERVICE.name,
  version: SERVICE.version,
  description: `${SERVICE.description} Errors are RFC 9457 problem details.`,
};

async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API key as `Authorization: Bearer <key>`, needed on every route but health and docs ' +
              'when the server has API_KEYS configured (see docs/security.md).',
          },
          adminKey: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An admin key (ADMIN_API_KEYS) as `Authorization: Bearer <key>`: the model repository API. API keys ' +
              'do not open it; with API keys and no admin keys it answers 403 (see docs/security.md).',
          },
        },
      },
      security: [{ apiKey: [] }],
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
    transformObject: (document) =>
      polishOpenapi(('openapiObject' in document ? document.openapiObject : {}) as Record<string, unknown>),
    // Open routes need no key; every other one can also answer 401, 429 (its key's rate limit) and 503
    // (shed), and names the route family its rate limit and deadline come from.
    transform: ({ schema, url, route }) => {
      // What the error handler will send (polishOpenapi files each error response under it), and whether
      // a null field counts as left out (polishOpenapi marks the optional fields nullable).
      const marks = {
        [ERROR_MEDIA]: errorMediaType(route.config, url),
        ...(takesNullAsAbsent(route.method, route.config) ? { [NULL_IS_ABSENT]: true } : {}),
      };
      if (isOpen(route.config)) return { schema: { ...schema, ...marks, security: [] }, url };
      const response = (schema?.response ?? {}) as Record<string, unknown>;
      const method = Array.isArray(route.method) ? String(route.method[0]) : route.method;
      const admin = isAdmin(route.config) ? { security: [{ adminKey: [] }] } : {};
      return {
        schema: {
          ...schema,
          ...admin,
          ...marks,
          response: { ...problems(401, 429, 503), ...response },
          'x-meanserve-family': familyOf(method, route.config),
        },
        url,
      };
    },
  });
  // The API description and its UI are open pages: this plugin's own routes say so.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'open', page: true };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
    docs.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    // A person who opens the bare address lands on the interactive API description.
    docs.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/docs', 302));
  });
}

export default fp(swaggerPlugin, { name: 'swagger' });
