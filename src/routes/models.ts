// GET /v1/models and /v1/models/{name}: what is served, its checksum, active provider and measured quality.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { LoadedModel } from '../models/registry.js';
import { problems } from '../schemas/common.js';
import { ModelInfo, ModelList, ModelPath, ModelVersionQuery } from '../schemas/models.js';

/** A served model as the API describes it. */
export function describeModel(model: LoadedModel): Static<typeof ModelInfo> {
  const { entry } = model;
  return {
    id: entry.name,
    object: 'model' as const,
    created: model.created,
    owned_by: 'meanserve',
    name: entry.name,
    version: entry.version,
    task: entry.task,
    description: entry.description,
    sha256: entry.sha256,
    state: model.state,
    ...(model.reason === undefined ? {} : { reason: model.reason }),
    execution_provider: model.provider ?? null,
    provider_fallbacks: model.providerFailures,
    max_batch_size: entry.max_batch_size,
    work: entry.work,
    pool: model.pool,
    inputs: entry.inputs,
    outputs: entry.outputs,
    metrics: entry.metrics,
    training: entry.training,
    ...(entry.generator === undefined ? {} : { generator: entry.generator }),
    ...(entry.language_model === undefined ? {} : { language_model: entry.language_model }),
  };
}

const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/models',
    {
      config: { errors: 'openai' },
      schema: {
        tags: ['models'],
        summary: 'List served models (every version)',
        response: { 200: ModelList },
      },
    },
    async () => ({ object: 'list' as const, data: app.models.list().map(describeModel) }),
  );

  app.get(
    '/v1/models/:name',
    {
      config: { errors: 'openai' },
      schema: {
        tags: ['models'],
        summary: 'Describe one model (newest version unless ?version= is given)',
        params: ModelPath,
        querystring: ModelVersionQuery,
        response: { 200: ModelInfo, ...problems(400, 404) },
      },
    },
    async (request) => describeModel(app.models.get(request.params.name, request.query.version)),
  );
};

export default modelRoutes;
