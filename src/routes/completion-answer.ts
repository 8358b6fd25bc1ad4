// How a started completion is answered, whatever its API (completions, chat completions, responses, Triton's
// generate): streamed by the route's own writer (the reply hijacked) or whole. A client that disconnects
// stops its generation at the next token; the generation slot is freed whatever happens.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Completion } from '../models/lm/completion-service.js';
import type { Generated } from '../models/lm/generate.js';
import { openEventStream } from './event-stream.js';

/** Writes a streamed answer until generation ends or `signal` (the client left) stops it. */
export type StreamWriter = (signal: AbortSignal) => Promise<void>;

/** `stream` when the body asked for one; `whole` shapes the finished answer otherwise. */
export async function answerCompletion<Whole>(
  request: FastifyRequest,
  reply: FastifyReply,
  completion: Completion,
  stream: StreamWriter | undefined,
  whole: (results: Generated[]) => Whole,
): Promise<Whole | undefined> {
  const { mode } = completion;
  const model = completion.head.model;
  const disconnected = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) disconnected.abort(new Error('client disconnected'));
  });
  try {
    if (stream !== undefined) {
      reply.hijack();
      await stream(disconnected.signal).catch((error: Error) => {
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
}

/**
 * A completion's event stream: opens it, lets `write` send events, and ends it whatever happens — after the
 * `failure` event when generation fails (the error then goes on to answerCompletion, which logs it).
 */
export async function writeEventStream(
  reply: FastifyReply,
  write: (send: (event: string) => void) => Promise<void>,
  failure: () => string,
): Promise<void> {
  openEventStream(reply);
  const events = batchedEvents(reply);
  try {
    await write(events.send);
  } catch (error) {
    events.send(failure());
    throw error;
  } finally {
    events.flush();
    reply.raw.end();
  }
}

/**
 * A writer of server-sent events that waits for the end of this event-loop turn and sends what came in one
 * write: the decoder's next step is dispatched first (decode-scheduler.ts), and the sequences of one request
 * share a write. `flush` sends what is pending at once.
 */
function batchedEvents(reply: FastifyReply): { send: (event: string) => void; flush: () => void } {
  const raw = reply.raw;
  let pending = '';
  const flush = () => {
    if (pending.length > 0 && !raw.destroyed) raw.write(pending);
    pending = '';
  };
  const send = (event: string) => {
    if (pending.length === 0) setImmediate(flush);
    pending += event;
  };
  return { send, flush };
}
