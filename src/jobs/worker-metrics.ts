// A BullMQ worker's own GET /metrics, on WORKER_METRICS_PORT: the language-model tokens its jobs decode
// and the process metrics. The API's /metrics sees jobs through the queue (counts by type and state), not
// what a worker process computes.
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import { registerDefaultMetrics, tokenCounters } from '../lib/prometheus.js';
import type { JobTokens } from './processor.js';

export class WorkerMetrics {
  private readonly registry = new client.Registry();
  private readonly tokenCounters = tokenCounters(this.registry);
  private server: Server | undefined;

  constructor() {
    registerDefaultMetrics(this.registry);
  }

  tokens(tokens: JobTokens): void {
    this.tokenCounters[tokens.kind].inc({ ...tokens.labels }, tokens.count);
  }

  /** Serves GET /metrics (anything else is a 404); resolves with the port once listening. */
  listen(port: number, host: string): Promise<number> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
