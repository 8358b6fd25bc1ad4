// bull-board at /admin/queues: the BullMQ queues (one per job type) with their jobs, for operators. Served
// only with the BullMQ backend and ADMIN_API_KEYS set, and only to an admin key — as `Bearer <key>` or as
// the password of Basic auth, which is what a browser sends after its login prompt. API keys do not open it.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ApiKey } from '../../config.js';
import { BullmqQueue } from '../../jobs/backends/bullmq/bullmq-queue.js';
import { basicPassword, bearerToken, keyMatcher } from './auth.js';
import { sendProblem } from './problem.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  /** Admin keys; empty: no dashboard. */
  keys: ApiKey[];
}

export default async function queueDashboard(app: FastifyInstance, options: QueueDashboardOptions) {
  if (options.keys.length === 0 || !(app.queue instanceof BullmqQueue)) return;
  const match = keyMatcher(options.keys);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: app.queue.bullQueues().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
  });
  // Encapsulated: these hooks mark and guard the dashboard's routes only.
  await app.register(async (dashboard) => {
    dashboard.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'admin' };
    });
    dashboard.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization;
      const presented = bearerToken(header) ?? basicPassword(header);
      const name = presented === undefined ? undefined : match(presented);
      if (name !== undefined) {
        request.apiKeyName = `admin:${name}`;
        return;
      }
      app.metrics.rejected('unauthorized');
      reply.header('www-authenticate', 'Basic realm="meanserve admin", charset="UTF-8"');
      return sendProblem(request, reply, {
        status: 401,
        code: 'unauthorized',
        title: 'Unauthorized',
        detail: 'the queue dashboard needs an admin key (ADMIN_API_KEYS)',
      });
    });
    // bull-board's page asks Google for web fonts: a request out of the operator's network that the CSP
    // refuses anyway. The page renders with the browser's own fonts.
    dashboard.addHook('onSend', async (_request, reply, payload) =>
      typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/html')
        ? payload.replace(/<link[^>]*fonts\.googleapis\.com[^>]*>/g, '')
        : payload,
    );
    await dashboard.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
  app.log.info({ path: DASHBOARD_PATH }, 'queue dashboard enabled');
}
