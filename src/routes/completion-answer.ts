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

/** Why a stream ended early, for the route's own error event. */
export interface StreamFailure {
  message: string;
  /** `overloaded`: its client read too little of it while the download budget was full. */
  code: 'overloaded' | 'server_error';
}

/**
 * A completion's event stream: opens it, lets `write` send events, and ends it whatever happens — after the
 * route's `failure` event when generation fails or the stream is stopped. What the client has not read yet
 * is charged to the download budget (answer-budget.ts) as it changes; a stream the budget refuses more is
 * stopped there — generation too — so clients that ask and read nothing cannot pile answers up in memory.
 */
export async function writeEventStream(
  reply: FastifyReply,
  signal: AbortSignal,
  write: (send: (event: string) => void, signal: AbortSignal) => Promise<void>,
  failure: (failed: StreamFailure) => string,
): Promise<void> {
  openEventStream(reply);
  const overflow = new AbortController();
  const events = batchedEvents(reply, overflow);
  try {
    await write(events.send, AbortSignal.any([signal, overflow.signal]));
  } catch (error) {
    if (!overflow.signal.aborted) {
      events.send(failure({ message: 'generation failed', code: 'server_error' }));
      throw error;
    }
  } finally {
    events.flush();
    if (overflow.signal.aborted) {
      const reason = (overflow.signal.reason as Error).message;
      reply.log.warn({ reason }, 'completion stream stopped');
      if (!reply.raw.destroyed) reply.raw.write(failure({ message: reason, code: 'overloaded' }));
    }
    reply.raw.end();
  }
}

/**
 * A writer of server-sent events that waits for the end of this event-loop turn and sends what came in one
 * write: the decoder's next step is dispatched first (decode-scheduler.ts), and the sequences of one request
 * share a write. `flush` sends what is pending at once. Before a write, what the client has not read yet
 * is charged to the download budget; when the budget refuses, nothing more is written and `overflow` is
 * aborted with the reason, which says how much was waiting.
 */
function batchedEvents(
  reply: FastifyReply,
  overflow: AbortController,
): { send: (event: string) => void; flush: () => void } {
  const raw = reply.raw;
  let pending = '';
  raw.on('drain', () => reply.chargeUnread(raw.writableLength));
  const flush = () => {
    const events = pending;
    pending = '';
    if (events.length === 0 || raw.destroyed || overflow.signal.aborted) return;
    // What the socket has not taken yet (strings counted by length: near enough for a budget). A client
    // that reads as events come holds none, so it is never stopped, whatever else the budget holds.
    const unread = raw.writableLength;
    if (reply.chargeUnread(unread)) {
      raw.write(events);
      return;
    }
    overflow.abort(
      new Error(
        `the stream was stopped: ${unread} bytes of it were waiting for the client to read them while the ` +
          'answers being sent held the download budget (DOWNLOAD_BUDGET_BYTES); read the stream as it comes, ' +
          'or retry shortly',
      ),
    );
  };
  const send = (event: string) => {
    if (pending.length === 0) setImmediate(flush);
    pending += event;
  };
  return { send, flush };
}
