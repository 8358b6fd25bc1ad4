// Server-sent events: the head every event stream of the API starts with, and a writer for streams that
// last as long as a job. No caching, and no buffering by proxies (nginx honours x-accel-buffering), so each
// event reaches the client as it is written. The reply is hijacked, so the head also carries what the hooks
// set on it — security headers, CORS, rate-limit counts — which Fastify would have written with an ordinary
// answer: without them a browser page of an allowed origin could not read the stream.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
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

/**
 * Events of a long stream. A client that reads slower than events come, or not at all, would have them
 * pile up in this process's memory for as long as the job runs (progress comes up to ten times a second):
 * while the socket is backed up, an event that a later one of its name supersedes (`latest`: progress)
 * waits, and only the last of each name is written once it drains. Other events are always written, after
 * whatever waits, in the order they came.
 */
export class EventWriter {
  private readonly waiting = new Map<string, string>();

  constructor(private readonly raw: ServerResponse) {
    raw.on('drain', () => this.flush());
  }

  send(event: string, data: unknown, id?: string): void {
    this.flush();
    this.raw.write(eventText(data, event, id));
  }

  latest(event: string, data: unknown): void {
    const text = eventText(data, event);
    if (this.raw.writableNeedDrain) this.waiting.set(event, text);
    else this.raw.write(text);
  }

  /** A comment line (a keep-alive); needless while the socket is backed up. */
  comment(text: string): void {
    if (!this.raw.writableNeedDrain) this.raw.write(`: ${text}\n\n`);
  }

  private flush(): void {
    for (const text of this.waiting.values()) this.raw.write(text);
    this.waiting.clear();
  }
}

/** One server-sent event: `data` as JSON, after its `id` and `event` name lines when it has them. */
export function eventText(data: unknown, event?: string, id?: string): string {
  const head = `${id === undefined ? '' : `id: ${id}\n`}${event === undefined ? '' : `event: ${event}\n`}`;
  return `${head}data: ${JSON.stringify(data)}\n\n`;
}
