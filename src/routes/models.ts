// GET /v1/models and /v1/models/{name}: what is served, its checksum, active provider and measured quality.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ModelName, ModelVersion, problems } from './schemas/common.js';
import { describeModel, ModelInfo } from './schemas/models.js';

const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['models'],
        summary: 'List served models (every version)',
        response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelInfo) }) },
      },
    },
    async () => ({ object: 'list' as const, data: app.models.list().map(describeModel) }),
  );

  app.get(
    '/v1/models/:name',
    {
      schema: {
        tags: ['models'],
        summary: 'Describe one model (newest version unless ?version= is given)',
        params: Type.Object({ name: ModelName }),
        querystring: Type.Object({ version: Type.Optional(ModelVersion) }, { additionalProperties: false }),
        response: { 200: ModelInfo, ...problems(400, 404) },
      },
    },
    async (request) => describeModel(app.models.get(request.params.name, request.query.version)),
  );
};

export default modelRoutes;
