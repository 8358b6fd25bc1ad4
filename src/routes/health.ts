// Ops routes: liveness (the process answers), readiness (models loaded, no damaged collection, DATA_DIR
// takes writes, queue reachable, not draining), Prometheus metrics.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Live, MetricsText, Ready } from '../schemas/health.js';

/** Everything that keeps the service from taking traffic; shared by /health/ready and /v2/health/ready. */
export async function notReadyReasons(app: FastifyInstance): Promise<string[]> {
  const reasons = [...app.models.readiness(), ...app.collections.readiness()];
  const storageFailure = app.storage?.failure();
  if (storageFailure !== undefined) {
    reasons.push(`storage: DATA_DIR ${app.config.dataDir} takes no writes: ${storageFailure}`);
  }
  if (app.draining) reasons.unshift('shutting down');
  try {
    await app.queue.ping();
  } catch (error) {
    reasons.push(`queue (${app.queue.backend}): ${(error as Error).message}`);
  }
  return reasons;
}

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health/live',
    {
      config: { access: 'open' },
      schema: {
        tags: ['ops'],
        summary: 'Liveness: the process is up and its event loop answers',
        response: { 200: Live },
      },
    },
    async () => ({ status: 'live' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'open' },
      schema: {
        tags: ['ops'],
        summary:
          'Readiness: every model loaded, no collection damaged and the job queue reachable (503 with reasons otherwise)',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const reasons = await notReadyReasons(app);
      if (reasons.length > 0) reply.code(503);
      return {
        status: reasons.length > 0 ? ('not ready' as const) : ('ready' as const),
        reasons,
        queue: app.queue.backend,
      };
    },
  );

  app.get(
    '/metrics',
    {
      config: { shed: false },
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: {
          200: MetricsText,
        },
      },
    },
    async (_request, reply) => {
      reply.type(app.metrics.registry.contentType);
      return app.metrics.registry.metrics();
    },
  );
};

export default healthRoutes;
