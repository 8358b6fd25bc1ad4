// POST /v1/completions: OpenAI's completions API over the arithmetic teacher, with antidistillation
// sampling as an extra object. Streams are server-sent events in OpenAI's chunk format ending with
// `data: [DONE]`. A client that disconnects stops its generation at the next token.
import { randomInt, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InvalidInputError, OverloadedError } from '../errors.js';
import { type CompletionPlan, planCompletion, runCompletion } from '../models/lm/completions.js';
import type { Generated } from '../models/lm/generate.js';
import { problems } from '../schemas/common.js';
import { CompletionBody, CompletionReply, MAX_SEQUENCES } from '../schemas/completions.js';
import type { ManifestEntry } from '../schemas/manifest.js';

const modelRef = (entry: ManifestEntry) => ({
  name: entry.name,
  version: entry.version,
  sha256: entry.sha256,
});

const completionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  let active = 0;

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
      const body = request.body;
      const prompts = typeof body.prompt === 'string' ? 1 : body.prompt.length;
      if (prompts * body.n > MAX_SEQUENCES) {
        throw new InvalidInputError(`${prompts} prompts × n ${body.n} exceeds ${MAX_SEQUENCES} completions`, [
          { path: '/body/n', message: `prompts × n must be at most ${MAX_SEQUENCES}` },
        ]);
      }
      const seed = body.seed ?? randomInt(2 ** 32 - 1);
      const plan = planCompletion(
        (name, version) => app.models.get(name, version).entry,
        app.config.modelsDir,
        {
          ...body,
          ...(body.logprobs === null ? { logprobs: undefined } : {}),
          seed,
        } as Parameters<typeof planCompletion>[2],
      );
      if (active >= app.config.generationConcurrency) {
        throw new OverloadedError(`${active} completions are generating; try again shortly`);
      }
      const { teacher, pair } = plan.models;
      const entries = pair === undefined ? [teacher] : [teacher, pair.plus, pair.minus];
      // Refuses models that are not ready before anything is sent.
      app.models.checkDecodable(entries);

      const head = {
        id: `cmpl-${randomUUID()}`,
        object: 'text_completion' as const,
        created: Math.floor(Date.now() / 1000),
        model: teacher.name,
      };
      const extras = {
        seed,
        system_fingerprint: `${teacher.name}@${teacher.version}:${entries.map((e) => e.sha256.slice(0, 12)).join('-')}`,
        models: {
          teacher: modelRef(teacher),
          ...(pair === undefined
            ? {}
            : { proxy_plus: modelRef(pair.plus), proxy_minus: modelRef(pair.minus) }),
        },
        ...(plan.models.antidistillation === undefined || pair === undefined
          ? {}
          : { antidistillation: { ...plan.models.antidistillation, proxy: pair.name } }),
      };
      const mode = pair === undefined ? 'plain' : 'antidistillation';
      const disconnected = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) disconnected.abort(new Error('client disconnected'));
      });
      const open = (models: ManifestEntry[]) => app.models.openDecoders(models);
      const onDone = (_: number, result: Generated) =>
        app.metrics.generatedTokens.inc({ model: teacher.name, mode }, result.completionTokens);

      active++;
      app.metrics.activeGenerations.inc();
      try {
        if (body.stream) {
          reply.hijack();
          await stream(
            reply.raw,
            plan,
            {
              head,
              extras,
              fingerprint: { system_fingerprint: extras.system_fingerprint, seed },
              includeUsage: body.stream_options?.include_usage === true,
            },
            (callbacks) =>
              runCompletion(
                plan,
                open,
                {
                  onText: callbacks.onText,
                  onDone: (index, result) => {
                    onDone(index, result);
                    callbacks.onDone(index, result);
                  },
                },
                disconnected.signal,
              ),
          ).catch((error: Error) => {
            if (!disconnected.signal.aborted) request.log.error({ err: error }, 'completion stream failed');
          });
          request.log.info(
            { model: teacher.name, mode, aborted: disconnected.signal.aborted },
            'completion streamed',
          );
          return;
        }
        let results: Generated[];
        try {
          // The work signal also fires at the route's deadline: generation stops there, not at max_tokens.
          results = await runCompletion(plan, open, { onDone }, request.work ?? disconnected.signal);
        } catch (error) {
          // Past a deadline the 503 is already answered; this rejection only ends the handler.
          if (!disconnected.signal.aborted) throw error;
          request.log.info({ model: teacher.name, mode }, 'client disconnected; generation stopped');
          reply.hijack();
          return;
        }
        const completionTokens = results.reduce((sum, result) => sum + result.completionTokens, 0);
        return {
          ...head,
          choices: results.map((result, index) => ({
            text: result.text,
            index,
            logprobs: result.logprobs ?? null,
            finish_reason: result.finishReason,
          })),
          usage: {
            prompt_tokens: plan.promptTokens,
            completion_tokens: completionTokens,
            total_tokens: plan.promptTokens + completionTokens,
          },
          ...extras,
        };
      } finally {
        active--;
        app.metrics.activeGenerations.dec();
      }
    },
  );
};

interface StreamCallbacks {
  onText: (index: number, piece: string) => void;
  onDone: (index: number, result: Generated) => void;
}

/** Writes the SSE stream: text chunks, one finishing chunk per choice, usage if asked, then [DONE]. */
async function stream(
  raw: ServerResponse,
  plan: CompletionPlan,
  options: {
    head: Record<string, unknown>;
    extras: Record<string, unknown>;
    fingerprint: Record<string, unknown>;
    includeUsage: boolean;
  },
  run: (callbacks: StreamCallbacks) => Promise<Generated[]>,
): Promise<void> {
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (data: unknown) => raw.write(`data: ${JSON.stringify(data)}\n\n`);
  // Text chunks carry OpenAI's fields; the finishing chunks and the usage chunk also name every model.
  const chunk = (choice: Record<string, unknown>, extras: Record<string, unknown> = options.fingerprint) =>
    send({ ...options.head, choices: [choice], ...extras });
  try {
    const results = await run({
      onText: (index, text) => chunk({ text, index, logprobs: null, finish_reason: null }),
      onDone: (index, result) =>
        chunk(
          { text: '', index, logprobs: result.logprobs ?? null, finish_reason: result.finishReason },
          options.extras,
        ),
    });
    if (options.includeUsage) {
      const completionTokens = results.reduce((sum, result) => sum + result.completionTokens, 0);
      send({
        ...options.head,
        choices: [],
        usage: {
          prompt_tokens: plan.promptTokens,
          completion_tokens: completionTokens,
          total_tokens: plan.promptTokens + completionTokens,
        },
        ...options.extras,
      });
    }
    raw.write('data: [DONE]\n\n');
  } catch (error) {
    if (!raw.destroyed) send({ error: { message: 'generation failed', type: 'server_error' } });
    throw error;
  } finally {
    raw.end();
  }
}

export default completionRoutes;
