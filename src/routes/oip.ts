// Open Inference Protocol v2 (KServe / Triton REST), so their clients can call every registered model.
// Not-ready answers 503 (KServe, TGI) rather than Triton's 400. Errors are problem details with the OIP
// `error` member added.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import { UnavailableError } from '../errors.js';
import { SERVICE } from '../lib/service-info.js';
import { checkWork, decodeInferRequest, encodeInferResponse } from '../models/infer-request.js';
import type { LoadedModel } from '../models/registry.js';
import { problems } from '../schemas/common.js';
import {
  InferRequestSchema,
  InferResponseSchema,
  ModelMetadata,
  ModelParams,
  ModelReady,
  ServerLive,
  ServerMetadata,
  ServerReady,
  VersionedParams,
} from '../schemas/oip.js';
import { notReadyReasons } from './health.js';

const oipRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const versionsOf = (name: string) =>
    app.models
      .list()
      .filter((model) => model.entry.name === name)
      .map((model) => model.entry.version);
  const metadata = (model: LoadedModel) => ({
    name: model.entry.name,
    versions: versionsOf(model.entry.name),
    platform: 'onnx_onnxv1',
    inputs: model.entry.inputs,
    outputs: model.entry.outputs,
  });

  app.get(
    '/v2',
    {
      schema: {
        tags: ['oip'],
        summary: 'Server metadata',
        response: {
          200: ServerMetadata,
        },
      },
    },
    async () => ({ name: SERVICE.name, version: SERVICE.version, extensions: [] }),
  );

  app.get(
    '/v2/health/live',
    {
      config: { access: 'open' },
      schema: {
        tags: ['oip'],
        summary: 'Server liveness',
        response: { 200: ServerLive },
      },
    },
    async () => ({ live: true }),
  );

  app.get(
    '/v2/health/ready',
    {
      config: { access: 'open' },
      schema: {
        tags: ['oip'],
        summary: 'Server readiness (503 until every model is loaded and the queue answers)',
        response: {
          200: ServerReady,
          ...problems(503),
        },
      },
    },
    async () => {
      const reasons = await notReadyReasons(app);
      if (reasons.length > 0) throw new UnavailableError(reasons.join('; '));
      return { ready: true };
    },
  );

  const metadataSchema = <Params extends TSchema>(params: Params) => ({
    tags: ['oip'],
    summary: 'Model metadata: inputs and outputs with datatypes and shapes (-1 = dynamic)',
    params,
    response: { 200: ModelMetadata, ...problems(400, 404) },
  });
  app.get('/v2/models/:name', { schema: metadataSchema(ModelParams) }, async (request) =>
    metadata(app.models.get(request.params.name)),
  );
  app.get(
    '/v2/models/:name/versions/:version',
    { schema: metadataSchema(VersionedParams) },
    async (request) => metadata(app.models.get(request.params.name, request.params.version)),
  );

  const readySchema = <Params extends TSchema>(params: Params) => ({
    tags: ['oip'],
    summary: 'Model readiness (503 while loading or failed)',
    params,
    response: { 200: ModelReady, ...problems(400, 404, 503) },
  });
  const modelReady = (model: LoadedModel) => {
    if (model.state !== 'ready') throw new UnavailableError(`model ${model.key} is ${model.state}`);
    return { name: model.entry.name, ready: true };
  };
  app.get('/v2/models/:name/ready', { schema: readySchema(ModelParams) }, async (request) =>
    modelReady(app.models.get(request.params.name)),
  );
  app.get(
    '/v2/models/:name/versions/:version/ready',
    { schema: readySchema(VersionedParams) },
    async (request) => modelReady(app.models.get(request.params.name, request.params.version)),
  );

  const inferSchema = <Params extends TSchema>(params: Params) => ({
    tags: ['oip'],
    summary: 'Inference: typed tensors in, typed tensors out; the request id is echoed',
    params,
    body: InferRequestSchema,
    response: { 200: InferResponseSchema, ...problems(400, 404, 413, 415, 503) },
  });
  const infer = async (
    model: LoadedModel,
    body: typeof InferRequestSchema.static,
    signal: AbortSignal | undefined,
  ) => {
    const decoded = decodeInferRequest(model.entry, body);
    checkWork(model.entry, decoded, body);
    // A request whose client left, or whose deadline passed, leaves the inference queue.
    const outputs = await app.models.infer(model, decoded.inputs, decoded.outputs, decoded.rows, {
      ...(signal === undefined ? {} : { signal }),
    });
    return encodeInferResponse(model.entry, body.id, outputs, decoded.outputs);
  };
  const bodyLimit = app.config.inferenceBodyLimit;
  app.post(
    '/v2/models/:name/infer',
    { config: { family: 'inference' }, schema: inferSchema(ModelParams), bodyLimit },
    async (request) => infer(app.models.get(request.params.name), request.body, request.work),
  );
  app.post(
    '/v2/models/:name/versions/:version/infer',
    { config: { family: 'inference' }, schema: inferSchema(VersionedParams), bodyLimit },
    async (request) =>
      infer(app.models.get(request.params.name, request.params.version), request.body, request.work),
  );
};

export default oipRoutes;
