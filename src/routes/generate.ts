// Triton's generate extension over the language models: POST /v2/models/{name}[/versions/{version}]/generate
// answers one {model_name, model_version, text_output} (with the finish reason and the seed beside them), and
// /generate_stream the same fields as server-sent events, one piece of text each — what genai-perf and other
// clients of Triton's LLM endpoints send. The text is /v1/completions's for the same prompt and seed. Errors
// are KServe's `{error}`, as on every /v2 route; one after the stream started is sent as a `data` event.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Completion } from '../models/lm/completion-service.js';
import { problems } from '../schemas/common.js';
import { GenerateBody, GenerateReply } from '../schemas/generate.js';
import { ModelParams, VersionedParams } from '../schemas/oip.js';
import { answerCompletion, writeEventStream } from './completion-answer.js';
import { eventText } from './event-stream.js';

const DESCRIPTION =
  "Triton's generate extension: `text_input` is the prompt in the model vocabulary, `parameters` the " +
  'sampler of /v1/completions (max_tokens, temperature, top_p, seed, stop, frequency_penalty, ' +
  'presence_penalty, and antidistillation_lambda for antidistillation sampling).';

const generateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const [suffix, stream] of [
    ['generate', false],
    ['generate_stream', true],
  ] as const) {
    const schema = {
      tags: ['oip'],
      summary: stream
        ? 'Generate text as server-sent events, one piece each (Triton generate extension)'
        : 'Generate text with a language model (Triton generate extension)',
      description: DESCRIPTION,
      body: GenerateBody,
      ...(stream ? { produces: ['text/event-stream'] } : {}),
      response: { 200: GenerateReply, ...problems(400, 404, 415, 422, 503) },
    };
    const handle = async (
      request: FastifyRequest,
      reply: FastifyReply,
      body: Static<typeof GenerateBody>,
      name: string,
      version?: string,
    ) => {
      const completion = await app.completions.startGenerate(name, version, body, request.work);
      const writer = stream ? (signal: AbortSignal) => writePieces(reply, completion, signal) : undefined;
      return answerCompletion(request, reply, completion, writer, (results) =>
        completion.generateReply(results),
      );
    };
    app.post(
      `/v2/models/:name/${suffix}`,
      { config: { family: 'inference' }, schema: { ...schema, params: ModelParams } },
      async (request, reply) => handle(request, reply, request.body, request.params.name),
    );
    app.post(
      `/v2/models/:name/versions/:version/${suffix}`,
      { config: { family: 'inference' }, schema: { ...schema, params: VersionedParams } },
      async (request, reply) =>
        handle(request, reply, request.body, request.params.name, request.params.version),
    );
  }
};

/** One event per piece of text as it becomes final; an error after the start as a `data` event. */
function writePieces(reply: FastifyReply, completion: Completion, signal: AbortSignal): Promise<void> {
  return writeEventStream(
    reply,
    signal,
    async (send, stop) => {
      await completion.run({ onText: (_, text) => send(eventText(completion.generatePiece(text))) }, stop);
    },
    ({ message }) => eventText({ error: message }),
  );
}

export default generateRoutes;
