// POST /v1/responses: OpenAI's Responses API over the language models — the call the OpenAI SDKs'
// `responses.create` and the Vercel AI SDK's default OpenAI model make. Text in, one text out, with
// antidistillation sampling and a seed as extra fields; streamed as the Responses API's typed events (no
// `[DONE]`: the stream ends after response.completed). Errors take OpenAI's shape.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Completion } from '../models/lm/completion-service.js';
import type { Generated } from '../models/lm/generate.js';
import { ResponseShapes } from '../models/lm/response-shapes.js';
import { problems } from '../schemas/common.js';
import { ResponseBody, ResponseObject } from '../schemas/responses.js';
import { answerCompletion, writeEventStream } from './completion-answer.js';
import { eventText } from './event-stream.js';

const responseRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/responses',
    {
      config: { family: 'inference', errors: 'openai' },
      schema: {
        tags: ['completions'],
        summary: 'Answer with the teacher in the shape of OpenAI’s Responses API',
        description:
          "OpenAI-compatible responses. `input` is text or messages whose last is the user's; it fills the " +
          "model's chat template (the arithmetic teacher's is `Q:{content}=`, so send `4817+2956`). " +
          '`antidistillation` and `seed` are as on /v1/chat/completions. `stream: true` answers the ' +
          'Responses API’s events, response.created to response.completed (or response.incomplete when ' +
          'max_output_tokens ends the text). Responses are not stored.',
        body: ResponseBody,
        response: { 200: ResponseObject, ...problems(400, 404, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      const completion = await app.completions.startResponse(request.body, request.work);
      const shapes = new ResponseShapes(completion, request.body);
      const stream = request.body.stream
        ? (signal: AbortSignal) => writeEvents(reply, completion, shapes, signal)
        : undefined;
      return answerCompletion(request, reply, completion, stream, ([result]) => shapes.response(result));
    },
  );
};

/** The Responses API's typed events: each named by its type. */
const typedEvent = (event: object) => eventText(event, (event as { type: string }).type);

/** Writes the stream's events: opening, one delta per piece of text, closing (or an error event). */
function writeEvents(
  reply: FastifyReply,
  completion: Completion,
  shapes: ResponseShapes,
  signal: AbortSignal,
): Promise<void> {
  return writeEventStream(
    reply,
    signal,
    async (sendEvent, stop) => {
      const send = (event: object) => sendEvent(typedEvent(event));
      for (const event of shapes.opening()) send(event);
      const [result] = await completion.run(
        { onText: (_, text, logprobs) => send(shapes.delta(text, logprobs)) },
        stop,
      );
      for (const event of shapes.closing(result as Generated)) send(event);
    },
    ({ message, code }) => typedEvent(shapes.failure(message, code)),
  );
}

export default responseRoutes;
