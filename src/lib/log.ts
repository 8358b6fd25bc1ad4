// The logging surface the services need: Fastify's request-aware logger in the API, plain pino in workers.
import type { LogFn } from 'pino';

export interface Log {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}
