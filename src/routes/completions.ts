// POST /v1/completions and POST /v1/chat/completions: OpenAI's completions and chat completions APIs over the
// arithmetic teacher, with antidistillation sampling as an extra object. Streams are server-sent events in
// OpenAI's chunk formats ending with `data: [DONE]`. A client that disconnects stops its generation at the
// next token. Errors take OpenAI's shape, as its SDKs read them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Completion } from '../models/lm/completion-service.js';
import { problems } from '../schemas/common.js';
import {
  ChatCompletionBody,
  ChatCompletionReply,
  CompletionBody,
  CompletionReply,
} from '../schemas/completions.js';
import { answerCompletion, type StreamWriter, writeEventStream } from './completion-answer.js';
import { eventText } from './event-stream.js';

const ANTIDISTILLATION =
  'With `antidistillation.lambda` > 0 each token is drawn from p̃ ∝ exp(log p_T / τ + λ Δ̂), Δ̂ the ' +
  'finite-difference change of a proxy student; `antidistillation.lambda_schedule` moves λ along the ' +
  'completion.';

const completionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/completions',
    {
      config: { family: 'inference', errors: 'openai' },
      schema: {
        tags: ['completions'],
        summary:
          'Complete prompts with the teacher, optionally with antidistillation sampling (OpenAI shape)',
        description: `OpenAI-compatible completions. ${ANTIDISTILLATION} \`stream: true\` answers text/event-stream chunks ending with \`data: [DONE]\`.`,
        body: CompletionBody,
        response: { 200: CompletionReply, ...problems(400, 404, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      const completion = await app.completions.start(request.body, request.work);
      return answerCompletion(
        request,
        reply,
        completion,
        streamOf(reply, completion, request.body),
        (results) => completion.reply(results),
      );
    },
  );

  app.post(
    '/v1/chat/completions',
    {
      config: { family: 'inference', errors: 'openai' },
      schema: {
        tags: ['completions'],
        summary:
          'Chat with the teacher: the last user message is the problem (OpenAI chat completions shape)',
        description: `OpenAI-compatible chat completions. The last message, the user's, fills the model's chat template (the arithmetic teacher's is \`Q:{content}=\`, so send \`4817+2956\`). ${ANTIDISTILLATION} \`stream: true\` answers chat.completion.chunk events ending with \`data: [DONE]\`.`,
        body: ChatCompletionBody,
        response: { 200: ChatCompletionReply, ...problems(400, 404, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      const completion = await app.completions.startChat(request.body, request.work);
      return answerCompletion(
        request,
        reply,
        completion,
        streamOf(reply, completion, request.body),
        (results) => completion.chatReply(results),
      );
    },
  );
};

/** The stream writer when the body asks for a stream. */
function streamOf(
  reply: FastifyReply,
  completion: Completion,
  body: { stream: boolean; stream_options?: { include_usage?: boolean } },
): StreamWriter | undefined {
  if (!body.stream) return undefined;
  const includeUsage = body.stream_options?.include_usage === true;
  return (signal) => writeStream(reply, completion, includeUsage, signal);
}

/**
 * Writes the SSE stream: per choice an opening chunk (chat), its text chunks and a finishing chunk, then the
 * usage chunk if asked, then [DONE].
 */
function writeStream(
  reply: FastifyReply,
  completion: Completion,
  includeUsage: boolean,
  signal: AbortSignal,
): Promise<void> {
  return writeEventStream(
    reply,
    signal,
    async (sendEvent, stop) => {
      const send = (data: unknown) => sendEvent(eventText(data));
      const opened = new Set<number>();
      const open = (index: number) => {
        if (opened.has(index)) return;
        opened.add(index);
        const chunk = completion.openingChunk(index);
        if (chunk !== undefined) send(chunk);
      };
      const results = await completion.run(
        {
          onText: (index, text) => {
            open(index);
            send(completion.textChunk(index, text));
          },
          onDone: (index, result) => {
            open(index);
            send(completion.finishChunk(index, result));
          },
        },
        stop,
      );
      if (includeUsage) send(completion.usageChunk(results));
      sendEvent('data: [DONE]\n\n');
    },
    ({ message, code }) => eventText({ error: { message, type: 'server_error', code } }),
  );
}

export default completionRoutes;
