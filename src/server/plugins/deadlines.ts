// Per-route deadlines: every route gets Fastify's handlerTimeout from its family (DEADLINES) unless it sets
// its own. Past it the request is answered 503 problem+json (deadline-exceeded) and request.signal aborts,
// so work that listens to the signal stops. Streams that already sent their headers are not cut by it.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteFamily } from '../config.js';
import { isOpenRoute, routeFamily } from '../route-families.js';

export interface DeadlineOptions {
  /** Milliseconds per route family. */
  deadlines: Record<RouteFamily, number>;
}

async function deadlinesPlugin(app: FastifyInstance, options: DeadlineOptions): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.handlerTimeout !== undefined || isOpenRoute(route.url)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const family = routeFamily(methods.includes('GET') ? 'GET' : String(methods[0]), route.url);
    route.handlerTimeout = options.deadlines[family];
  });
}

export default fp(deadlinesPlugin, { name: 'deadlines' });
