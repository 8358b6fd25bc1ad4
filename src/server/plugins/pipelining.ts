// HTTP/1.1 pipelining within bounds. Node parses every request a connection has sent and hands each to its
// handler at once, without waiting for the answers before it; it stops reading a connection only when
// answers pile up unsent. A handler that waits (for the job store, an inference) has sent nothing yet, so
// one client that pipelined GET /v1/jobs 285 000 times and read nothing had them all in flight at once: the
// server's RSS went from 0.36 to 2.5 GB, /health/live went unanswered, and a core stayed busy for 30 s after
// the client had gone. Past MAX_PIPELINED_REQUESTS in flight on one connection a request is answered 503
// at once instead of run: its answer queues behind the earlier ones, and Node stops reading the connection.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { refuseOverloaded } from './load-shedding.js';

export interface PipeliningOptions {
  /** Requests in flight at once on one connection. */
  maxInFlight: number;
}

async function pipeliningPlugin(app: FastifyInstance, { maxInFlight }: PipeliningOptions): Promise<void> {
  const inFlight = new WeakMap<Socket, number>();
  // A callback hook: every request passes here, and an async one costs a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket;
    const count = (inFlight.get(socket) ?? 0) + 1;
    if (count > maxInFlight) {
      refuseOverloaded(
        app,
        request,
        reply,
        `${maxInFlight} requests are already in flight on this connection (pipelined): this one was not run; send it again once their answers arrive, or over another connection`,
        1,
      );
      return;
    }
    inFlight.set(socket, count);
    // 'close' comes once the answer is sent or the connection is gone, whichever is first.
    reply.raw.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    done();
  });
}

export default fp(pipeliningPlugin, { name: 'pipelining' });
