// Server-sent events: the head every event stream of the API starts with. No caching, and no buffering by
// proxies (nginx honours x-accel-buffering), so each event reaches the client as it is written. The reply is
// hijacked, so the head also carries what the hooks set on it — security headers, CORS, rate-limit counts —
// which Fastify would have written with an ordinary answer: without them a browser page of an allowed origin
// could not read the stream.
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';

export function openEventStream(reply: FastifyReply): void {
  reply.raw.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
}
