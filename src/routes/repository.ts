// The model repository API, admin keys only (registered behind server/plugins/admin-guard.ts): upload a
// version (PUT /v1/models/{name}/versions/{version}), and the Open Inference Protocol's repository extension —
// POST /v2/repository/index, /v2/repository/models/{name}/load and /unload — as Triton's and KServe's clients
// call it. Loads and unloads reach every replica that shares MODEL_REPOSITORY_DIR within one poll.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { RepositoryService } from '../models/repository/repository-service.js';
import { problems } from '../schemas/common.js';
import {
  Empty,
  IndexRequest,
  IndexResponse,
  LoadRequest,
  RepositoryModelParams,
  UploadBody,
  UploadParams,
  UploadResponse,
} from '../schemas/repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    repository: RepositoryService;
  }
}

/** Whether job params name the model anywhere (`{model: name, version?}`, as every model-using job type does). */
function mentionsModel(value: unknown, name: string, version: string | undefined): boolean {
  if (Array.isArray(value)) return value.some((item) => mentionsModel(item, name, version));
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (
    record.model === name &&
    (version === undefined || record.version === undefined || record.version === version)
  )
    return true;
  return Object.values(record).some((item) => mentionsModel(item, name, version));
}

/** Queued and running jobs whose params name the model: unloading it would fail them. */
async function jobsUsing(queue: JobQueue, name: string, version: string | undefined): Promise<string[]> {
  const jobs = [
    ...(await queue.list({ state: 'queued', limit: 1000 })),
    ...(await queue.list({ state: 'running', limit: 1000 })),
  ];
  return jobs.filter((job) => mentionsModel(job.params, name, version)).map((job) => job.id);
}

const repositoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const uploadLimit = app.config.modelUploadLimitBytes;
  // Base64 grows a file by 4/3; the settings beside it are small.
  const base64Limit = Math.ceil(uploadLimit / 3) * 4;
  const bodyLimit = base64Limit + 1024 * 1024;
  // The body limit bounds the file's string; past MODEL_UPLOAD_LIMIT_BYTES decoded the upload is a 413.
  const parseUpload = app.jsonBodyParser({ ...app.config.jsonLimits, maxStringLength: bodyLimit });
  // Encapsulated: only this plugin's routes read JSON with the larger string limit.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request, body, done) =>
    parseUpload(request, body as Buffer, done),
  );

  // Triton's and KServe's clients often post index, load and unload with no body at all.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {};
  });

  app.put(
    '/v1/models/:name/versions/:version',
    {
      bodyLimit,
      config: { access: 'admin', shed: false },
      schema: {
        tags: ['models'],
        summary:
          'Upload a model version (admin): the ONNX file in base64, its sha256, batching and work settings',
        params: UploadParams,
        body: UploadBody,
        response: {
          200: UploadResponse,
          201: UploadResponse,
          ...problems(400, 401, 403, 409, 413, 503, 507),
        },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      const { entry, created } = await app.repository.upload(name, version, request.body);
      reply.code(created ? 201 : 200);
      return {
        name: entry.name,
        version: entry.version,
        sha256: entry.sha256,
        task: entry.task,
        max_batch_size: entry.max_batch_size,
        inputs: entry.inputs,
        outputs: entry.outputs,
        work: entry.work,
        created,
      };
    },
  );

  app.post(
    '/v2/repository/index',
    {
      config: { access: 'admin', shed: false },
      schema: {
        tags: ['oip'],
        summary: 'Model repository index (admin): every model, loaded or not, with its state',
        body: Type.Optional(IndexRequest),
        response: { 200: IndexResponse, ...problems(400, 401, 403) },
      },
    },
    async (request) => app.repository.index(request.body?.ready === true),
  );

  app.post(
    '/v2/repository/models/:name/load',
    {
      config: { access: 'admin', shed: false },
      schema: {
        tags: ['oip'],
        summary: 'Load an uploaded model (admin), on every replica sharing the repository',
        params: RepositoryModelParams,
        body: Type.Optional(LoadRequest),
        response: { 200: Empty, ...problems(400, 401, 403, 404, 503, 507) },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (app.repository.isBakedIn(name)) return {};
      await app.repository.load(await app.repository.versionsOf(name, request.body?.parameters?.version));
      return {};
    },
  );

  app.post(
    '/v2/repository/models/:name/unload',
    {
      config: { access: 'admin', shed: false },
      schema: {
        tags: ['oip'],
        summary:
          'Unload an uploaded model (admin) once its requests in flight have finished, on every replica',
        params: RepositoryModelParams,
        body: Type.Optional(LoadRequest),
        response: { 200: Empty, ...problems(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const version = request.body?.parameters?.version;
      if (app.repository.isBakedIn(name)) {
        throw new ConflictError(`'${name}' is baked into the manifest and serves the service's own routes`);
      }
      const versions = await app.repository.versionsOf(name, version);
      const jobs = await jobsUsing(app.queue, name, version);
      if (jobs.length > 0) {
        throw new ConflictError(
          `jobs ${jobs.join(', ')} use ${name}; unload it once they have finished or are cancelled`,
        );
      }
      await app.repository.unload(versions);
      return {};
    },
  );
};

export default repositoryRoutes;
