// Per-route deadlines: every route's handler is raced against its family's deadline (DEADLINES) unless the
// route is open. Past it the request is answered 503 problem+json (deadline-exceeded) and the work's result,
// when it comes, is dropped. A stream that already sent its headers is not cut. Fastify's own handlerTimeout
// is not used: on Node 20 an IncomingMessage emits 'close' once its body is read, which clears that timer
// for every request with a body.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteFamily } from '../../config.js';
import { AppError } from '../../errors.js';
import { Cancellation } from '../../lib/abortable.js';
import { familyOf, isAdmin, isOpen } from './route-policy.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Aborts the cancellation of every request in flight with `reason` (the drain's end, past
     * SHUTDOWN_TIMEOUT_MS): work still waiting leaves its queue, an uploaded model's run is killed, a
     * stream stops, and each answers with `reason` if it can still answer.
     */
    cancelRequests(reason: Error): void;
  }
  interface FastifyRequest {
    /**
     * Aborts when the client goes away before its answer is written or the route's deadline passes, so work
     * that still waits (an inference request in a queue) can leave. Undefined on open routes. Queues inside
     * the process take it as it is; `work` is the same as an AbortSignal, made when first read.
     */
    cancellation: Cancellation | undefined;
    /** `cancellation` as an AbortSignal, for APIs that take one. */
    readonly work: AbortSignal | undefined;
  }
}

export interface DeadlineOptions {
  /** Milliseconds per route family. */
  deadlines: Record<RouteFamily, number>;
}

export class DeadlineExceededError extends AppError {
  constructor(ms: number) {
    super(
      503,
      'deadline-exceeded',
      'Deadline exceeded',
      `the request took longer than its deadline of ${ms} ms; retry, or ask for less work`,
      { retryAfter: 1 },
    );
  }
}

/** Nobody reads this answer (its client disconnected); logged with status 499 as nginx does. */
export class ClientClosedError extends AppError {
  constructor() {
    super(499, 'client-closed', 'Client closed request', 'the client disconnected before the answer');
  }
}

/**
 * The handler, or a DeadlineExceededError after `ms` unless the reply has started by then. Its cancellation
 * is in `inFlight` until its response closes.
 */
function withDeadline(
  handler: RouteHandlerMethod,
  ms: number,
  inFlight: Set<Cancellation>,
): RouteHandlerMethod {
  return function deadlined(this: FastifyInstance, request, reply: FastifyReply) {
    const work = new Cancellation();
    request.cancellation = work;
    inFlight.add(work);
    const clientGone = () => {
      inFlight.delete(work);
      if (!reply.raw.writableFinished) work.abort(new ClientClosedError());
    };
    // A client can leave while its body is read or an earlier hook waits: its 'close' has already fired.
    if (request.raw.socket?.destroyed) clientGone();
    else reply.raw.once('close', clientGone);
    const answer = handler.call(this, request, reply);
    if (!(answer instanceof Promise)) return answer;
    // One promise and one timer a request (a Promise.race with a second promise cost twice as much).
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Streams (hijacked replies, written headers) are timed only until they start.
        if (reply.sent || reply.raw.headersSent) return;
        const error = new DeadlineExceededError(ms);
        work.abort(error);
        reject(error);
      }, ms);
      answer.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  };
}

async function deadlinesPlugin(app: FastifyInstance, options: DeadlineOptions): Promise<void> {
  /** Requests in flight on the routes with deadlines (every one but health, metrics and admin). */
  const inFlight = new Set<Cancellation>();
  app.decorate('cancelRequests', (reason: Error) => {
    for (const work of inFlight) work.abort(reason);
  });
  app.decorateRequest('cancellation', undefined);
  app.decorateRequest('work', {
    getter(this: FastifyRequest) {
      return this.cancellation?.signal;
    },
  });
  app.addHook('onRoute', (route) => {
    if (isOpen(route.config) || isAdmin(route.config)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const family = familyOf(methods.includes('GET') ? 'GET' : String(methods[0]), route.config);
    route.handler = withDeadline(route.handler, options.deadlines[family], inFlight);
  });
}

export default fp(deadlinesPlugin, { name: 'deadlines' });
