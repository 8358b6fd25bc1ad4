// POST /v1/completions: OpenAI's completions API over the arithmetic teacher, with antidistillation
// sampling as an extra object. Streams are server-sent events in OpenAI's chunk format ending with
// `data: [DONE]`. A client that disconnects stops its generation at the next token.
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Completion } from '../models/lm/completion-service.js';
import type { Generated } from '../models/lm/generate.js';
import { problems } from '../schemas/common.js';
import { CompletionBody, CompletionReply } from '../schemas/completions.js';
import { openEventStream } from './event-stream.js';

const completionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/completions',
    {
      config: { family: 'inference' },
      schema: {
        tags: ['completions'],
        summary:
          'Complete prompts with the teacher, optionally with antidistillation sampling (OpenAI shape)',
        description:
          'OpenAI-compatible completions. With `antidistillation.lambda` > 0 each token is drawn from ' +
          'p̃ ∝ exp(log p_T / τ + λ Δ̂), Δ̂ the finite-difference change of a proxy student. ' +
          '`stream: true` answers text/event-stream chunks ending with `data: [DONE]`.',
        body: CompletionBody,
        response: { 200: CompletionReply, ...problems(400, 404, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      const completion = app.completions.start(request.body);
      const { mode } = completion;
      const model = completion.head.model;
      const disconnected = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) disconnected.abort(new Error('client disconnected'));
      });
      try {
        if (request.body.stream) {
          reply.hijack();
          await stream(
            reply.raw,
            completion,
            request.body.stream_options?.include_usage === true,
            disconnected.signal,
          ).catch((error: Error) => {
            if (!disconnected.signal.aborted) request.log.error({ err: error }, 'completion stream failed');
          });
          request.log.info({ model, mode, aborted: disconnected.signal.aborted }, 'completion streamed');
          return;
        }
        let results: Generated[];
        try {
          // The work signal also fires at the route's deadline: generation stops there, not at max_tokens.
          results = await completion.run({}, request.work ?? disconnected.signal);
        } catch (error) {
          // Past a deadline the 503 is already answered; this rejection only ends the handler.
          if (!disconnected.signal.aborted) throw error;
          request.log.info({ model, mode }, 'client disconnected; generation stopped');
          reply.hijack();
          return;
        }
        return completion.reply(results);
      } finally {
        completion.close();
      }
    },
  );
};

/** Writes the SSE stream: text chunks, one finishing chunk per choice, usage if asked, then [DONE]. */
async function stream(
  raw: ServerResponse,
  completion: Completion,
  includeUsage: boolean,
  signal: AbortSignal,
): Promise<void> {
  openEventStream(raw);
  const send = (data: unknown) => raw.write(`data: ${JSON.stringify(data)}\n\n`);
  try {
    const results = await completion.run(
      {
        onText: (index, text) => send(completion.textChunk(index, text)),
        onDone: (index, result) => send(completion.finishChunk(index, result)),
      },
      signal,
    );
    if (includeUsage) send(completion.usageChunk(results));
    raw.write('data: [DONE]\n\n');
  } catch (error) {
    if (!raw.destroyed) send({ error: { message: 'generation failed', type: 'server_error' } });
    throw error;
  } finally {
    raw.end();
  }
}

export default completionRoutes;
