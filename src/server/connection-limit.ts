// MAX_CONNECTIONS on the listening server: a connection past it is closed as it arrives (Node's
// maxConnections), before it can take a descriptor the server's own files need; each one is counted, and
// the log says so at most once a minute.
import type { Server } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from './metrics.js';

const WARNING_INTERVAL_MS = 60_000;

export function limitConnections(
  server: Server,
  maxConnections: number | undefined,
  log: FastifyBaseLogger,
  metrics: Metrics,
): void {
  metrics.watchConnections(server);
  if (maxConnections === undefined) return;
  server.maxConnections = maxConnections;
  let droppedSinceWarning = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    metrics.connectionDropped();
    droppedSinceWarning += 1;
    if (Date.now() - warnedAt < WARNING_INTERVAL_MS) return;
    log.warn(
      { maxConnections, droppedSinceWarning },
      'MAX_CONNECTIONS connections are open: new ones are closed as they arrive',
    );
    warnedAt = Date.now();
    droppedSinceWarning = 0;
  });
}
