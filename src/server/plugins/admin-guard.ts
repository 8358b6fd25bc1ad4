// The guard of the operators' routes (the queue dashboard, the model repository API): only an admin key
// (ADMIN_API_KEYS) opens them — as `Bearer <key>`, or as the password of Basic auth, which is what a browser
// sends after its login prompt; API keys do not. Without admin keys the routes are closed (403), except on a
// server with no keys of either kind, where every route is open and the start-up log says so.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey } from '../../config.js';
import { basicPassword, bearerToken, keyMatcher } from './auth.js';
import { sendProblem } from './problem.js';

export interface AdminGuardOptions {
  keys: ApiKey[];
  /** True when the server has no API keys either: a development server, open to all. */
  openServer: boolean;
  /** What the routes are, for the 401 and 403 details. */
  what: string;
}

export function adminGuard(app: FastifyInstance, options: AdminGuardOptions) {
  const match = options.keys.length > 0 ? keyMatcher(options.keys) : undefined;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (match === undefined) {
      if (options.openServer) return;
      app.metrics.rejected('unauthorized');
      return sendProblem(request, reply, {
        status: 403,
        code: 'forbidden',
        title: 'Forbidden',
        detail: `${options.what} needs an admin key, and this server has none (ADMIN_API_KEYS)`,
      });
    }
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
      detail: `${options.what} needs an admin key (ADMIN_API_KEYS)`,
    });
  };
}
