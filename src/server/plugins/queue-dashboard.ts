// bull-board at /admin/queues: the BullMQ queues (one per job type) with their jobs, for operators. Served
// only with the BullMQ backend and ADMIN_API_KEYS set, and only to an admin key (admin-guard.ts).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ApiKey } from '../../config.js';
import { BullmqQueue } from '../../jobs/backends/bullmq/bullmq-queue.js';
import { adminGuard } from './admin-guard.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  /** Admin keys; empty: no dashboard. */
  keys: ApiKey[];
}

export default async function queueDashboard(app: FastifyInstance, options: QueueDashboardOptions) {
  if (options.keys.length === 0 || !(app.queue instanceof BullmqQueue)) return;
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: app.queue.bullQueues().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
  });
  // Encapsulated: these hooks mark and guard the dashboard's routes only.
  await app.register(async (dashboard) => {
    dashboard.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'admin', page: true };
    });
    dashboard.addHook(
      'onRequest',
      adminGuard(app, { keys: options.keys, openServer: false, what: 'the queue dashboard' }),
    );
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
