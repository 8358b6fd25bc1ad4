// Server-sent events: the head every event stream of the API starts with. No caching, and no buffering by
// proxies (nginx honours x-accel-buffering), so each event reaches the client as it is written.
import type { ServerResponse } from 'node:http';

export function openEventStream(raw: ServerResponse): void {
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
}
