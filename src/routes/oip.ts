// Open Inference Protocol v2 (KServe / Triton REST), so their clients can call every registered model,
// with Triton's binary tensor data extension (models/binary-tensor-data.ts). Not-ready answers 503
// (KServe, TGI) rather than Triton's 400. Errors are KServe's `{error}` as application/json, with the
// problem-details members beside it (server/plugins/problem.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TooLargeError, UnavailableError, UnsupportedMediaTypeError } from '../errors.js';
import { exactJson } from '../lib/exact-json.js';
import { SERVICE } from '../lib/service-info.js';
import {
  binaryOutputNames,
  encodeBinaryResponse,
  HEADER_LENGTH,
  jsonHeaderLength,
  sliceBinaryInputs,
} from '../models/binary-tensor-data.js';
import {
  answerTooLarge,
  checkWork,
  decodeInferRequest,
  encodeInferResponse,
} from '../models/infer-request.js';
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The bytes after the JSON header of a binary tensor data request; undefined for plain JSON. */
    binaryTensorData: Buffer | undefined;
  }
}

/** Triton names ONNX Runtime models' platform so; tritonclient and KServe tooling read it. */
const PLATFORM = 'onnxruntime_onnx';

const oipRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerBinaryBodyParsers(app);

  const versionsOf = (name: string) =>
    app.models
      .list()
      .filter((model) => model.entry.name === name)
      .map((model) => model.entry.version);
  const metadata = (model: LoadedModel) => ({
    name: model.entry.name,
    versions: versionsOf(model.entry.name),
    platform: PLATFORM,
    inputs: model.entry.inputs,
    outputs: model.entry.outputs,
  });

  const serverMetadata = async () => ({
    name: SERVICE.name,
    version: SERVICE.version,
    extensions: ['binary_tensor_data', 'model_repository'],
  });
  const serverMetadataSchema = {
    tags: ['oip'],
    summary: 'Server metadata',
    response: { 200: ServerMetadata },
  };
  app.get('/v2', { schema: serverMetadataSchema }, serverMetadata);
  // KServe's rest_predict_v2.yaml writes the path with a trailing slash; clients use both forms.
  app.get('/v2/', { schema: { ...serverMetadataSchema, hide: true } }, serverMetadata);

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
    description:
      'JSON, or Triton binary tensor data: the JSON header (its length in the Inference-Header-Content-Length ' +
      'header) followed by the little-endian bytes of each input with parameters.binary_data_size. Outputs ' +
      'come back as binary when the request sets parameters.binary_data_output or an output sets ' +
      'parameters.binary_data (then the answer is application/octet-stream with the same header).',
    params,
    body: InferRequestSchema,
    response: { 200: InferResponseSchema, ...problems(400, 404, 413, 415, 422, 503) },
  });
  const infer = async (model: LoadedModel, request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as typeof InferRequestSchema.static;
    const binaryInputs =
      request.binaryTensorData === undefined ? undefined : sliceBinaryInputs(body, request.binaryTensorData);
    const decoded = decodeInferRequest(model.entry, body, '/body', binaryInputs);
    checkWork(model.entry, decoded, body);
    const binaryOutputs = binaryOutputNames(body, decoded.outputs);
    // A request whose client left, or whose deadline passed, leaves the inference queue.
    const outputs = await app.models.infer(model, decoded.inputs, decoded.outputs, decoded.rows, {
      ...(request.cancellation === undefined ? {} : { signal: request.cancellation }),
    });
    // As many numbers as one array of a request may hold (JSON_MAX_ARRAY_LENGTH).
    const tooLarge = answerTooLarge(
      outputs,
      decoded.outputs,
      binaryOutputs,
      app.config.jsonLimits.maxArrayLength,
    );
    if (tooLarge !== undefined) {
      throw new TooLargeError(
        `${tooLarge} (JSON_MAX_ARRAY_LENGTH): ask for them as binary tensor data (parameters.binary_data_output), or for fewer rows`,
        [{ path: '/body/outputs', message: tooLarge }],
      );
    }
    const response = encodeInferResponse(model.entry, body.id, outputs, decoded.outputs, binaryOutputs);
    // Its JsonNumbers are numbers as the schema says, once exactJson writes them.
    if (binaryOutputs.size === 0) return response as typeof InferResponseSchema.static;
    const binary = encodeBinaryResponse(response, outputs, binaryOutputs);
    return reply
      .header(HEADER_LENGTH, String(binary.jsonLength))
      .type('application/octet-stream')
      .send(binary.body);
  };
  const bodyLimit = app.config.inferenceBodyLimit;
  // The schema documents the reply; JSON.stringify writes it (exactJson: INT64 beyond 2^53 with every
  // digit, NaN and ±Infinity as Triton writes them). fast-json-stringify checks the number-or-boolean union
  // element by element and took 5× as long on a 200 000-element output (bench/oip-binary.ts).
  const serializerCompiler = () => exactJson;
  app.post(
    '/v2/models/:name/infer',
    { config: { family: 'inference' }, schema: inferSchema(ModelParams), bodyLimit, serializerCompiler },
    async (request, reply) => infer(app.models.get(request.params.name), request, reply),
  );
  app.post(
    '/v2/models/:name/versions/:version/infer',
    { config: { family: 'inference' }, schema: inferSchema(VersionedParams), bodyLimit, serializerCompiler },
    async (request, reply) =>
      infer(app.models.get(request.params.name, request.params.version), request, reply),
  );
};

/**
 * Bodies of the /v2 routes: JSON as everywhere, or — with the Inference-Header-Content-Length header —
 * a JSON header and binary tensors after it, whatever the content type (tritonclient's HTTP client sends
 * none, its asyncio client application/octet-stream). Both JSON kinds go through the limited JSON parser.
 */
function registerBinaryBodyParsers(app: Parameters<FastifyPluginAsyncTypebox>[0]): void {
  app.decorateRequest('binaryTensorData', undefined);
  const parseBody = (
    request: FastifyRequest,
    body: string | Buffer,
    done: (error: Error | null, document?: unknown) => void,
  ) => {
    const bytes = body as Buffer;
    if (request.headers[HEADER_LENGTH] === undefined) {
      if (request.headers['content-type']?.startsWith('application/json')) {
        return app.parseJsonBody(request, bytes, done);
      }
      return done(
        new UnsupportedMediaTypeError(
          'send application/json, or binary tensor data with the Inference-Header-Content-Length header',
        ),
      );
    }
    try {
      const length = jsonHeaderLength(request.headers[HEADER_LENGTH], bytes.length);
      request.binaryTensorData = bytes.subarray(length);
      app.parseJsonBody(request, bytes.subarray(0, length), done);
    } catch (error) {
      done(error as Error);
    }
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/octet-stream'],
    { parseAs: 'buffer' },
    parseBody,
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody);
}

export default oipRoutes;
