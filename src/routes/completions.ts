// POST /v1/completions and POST /v1/chat/completions: OpenAI's completions and chat completions APIs over the
// arithmetic teacher, with antidistillation sampling as an extra object. Streams are server-sent events in
// OpenAI's chunk formats ending with `data: [DONE]`. A client that disconnects stops its generation at the
// next token. Errors take OpenAI's shape, as its SDKs read them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Completion } from '../models/lm/completion-service.js';
import type { Generated } from '../models/lm/generate.js';
import { problems } from '../schemas/common.js';
import {
  ChatCompletionBody,
  ChatCompletionReply,
  CompletionBody,
  CompletionReply,
} from '../schemas/completions.js';
import { openEventStream } from './event-stream.js';

const ANTIDISTILLATION =
  'With `antidistillation.lambda` > 0 each token is drawn from p̃ ∝ exp(log p_T / τ + λ Δ̂), Δ̂ the ' +
  'finite-difference change of a proxy student; `antidistillation.lambda_schedule` moves λ along the ' +
  'completion.';

const completionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * Runs a started completion: streamed (the reply hijacked) when the body asks, or whole; `whole` shapes
   * the finished answer.
   * The slot is freed whatever happens.
   */
  const answer = async <Whole>(
    request: FastifyRequest,
    reply: FastifyReply,
    completion: Completion,
    body: { stream: boolean; stream_options?: { include_usage?: boolean } | null },
    whole: (results: Generated[]) => Whole,
  ): Promise<Whole | undefined> => {
    const { mode } = completion;
    const model = completion.head.model;
    const disconnected = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) disconnected.abort(new Error('client disconnected'));
    });
    try {
      if (body.stream) {
        reply.hijack();
        const includeUsage = body.stream_options?.include_usage === true;
        await writeStream(reply, completion, includeUsage, disconnected.signal).catch((error: Error) => {
          if (!disconnected.signal.aborted) request.log.error({ err: error }, 'completion stream failed');
        });
        request.log.info({ model, mode, aborted: disconnected.signal.aborted }, 'completion streamed');
        return undefined;
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
        return undefined;
      }
      return whole(results);
    } finally {
      completion.close();
    }
  };

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
      return answer(request, reply, completion, request.body, (results) => completion.reply(results));
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
      return answer(request, reply, completion, request.body, (results) => completion.chatReply(results));
    },
  );
};

/**
 * Writes the SSE stream: per choice an opening chunk (chat), its text chunks and a finishing chunk, then the
 * usage chunk if asked, then [DONE].
 */
async function writeStream(
  reply: FastifyReply,
  completion: Completion,
  includeUsage: boolean,
  signal: AbortSignal,
): Promise<void> {
  openEventStream(reply);
  const raw = reply.raw;
  // Events wait for the end of this event-loop turn and go out in one write: the decoder's next step is
  // dispatched first (decode-scheduler.ts), and the sequences of one request share a write.
  let pending = '';
  const flush = () => {
    if (pending.length > 0 && !raw.destroyed) raw.write(pending);
    pending = '';
  };
  const send = (data: unknown) => {
    if (pending.length === 0) setImmediate(flush);
    pending += `data: ${JSON.stringify(data)}\n\n`;
  };
  const opened = new Set<number>();
  const open = (index: number) => {
    if (opened.has(index)) return;
    opened.add(index);
    const chunk = completion.openingChunk(index);
    if (chunk !== undefined) send(chunk);
  };
  try {
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
      signal,
    );
    if (includeUsage) send(completion.usageChunk(results));
    pending += 'data: [DONE]\n\n';
  } catch (error) {
    send({ error: { message: 'generation failed', type: 'server_error' } });
    throw error;
  } finally {
    flush();
    raw.end();
  }
}

export default completionRoutes;
