// A budget for the request bodies held at once across every connection. A route's bodyLimit bounds one
// request, not how many arrive together: 40 concurrent 24 MB OIP bodies took 1.7 GB of RSS here (a body
// takes about three times its size while it is parsed), so a few hundred maximum-size uploads could take
// more memory than the container has. A request is charged its Content-Length (its route's bodyLimit when
// it does not declare one) before any byte of its body is read, until its response ends or its connection
// closes. A request that would take the charges past BODY_BUDGET_BYTES gets 503 with Retry-After — unless
// nothing else is charged, so that every request within its route's limit can be served — and routes that
// are never shed (health probes, model uploads) are charged but never refused. A compressed body is charged
// what it declares, then more as it decodes past that (request.growBodyCharge, plugins/content-encoding.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ByteBudget } from '../../lib/byte-budget.js';
import { refuseOverloaded } from './load-shedding.js';
import { isShed } from './route-policy.js';

export interface BodyBudgetOptions {
  /** Bytes of request bodies held at once; 0 turns the budget off. */
  bytes: number;
}

/** The bytes a request's body may take: what it declares, at most its route's limit. */
function chargeOf(request: FastifyRequest): number {
  const limit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const length = request.headers['content-length'];
  if (length !== undefined) {
    const declared = Number(length);
    return Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, limit) : 0;
  }
  // A chunked body declares no length: it may take up to the limit.
  return request.headers['transfer-encoding'] === undefined || limit === Number.POSITIVE_INFINITY ? 0 : limit;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Adds `bytes` to this request's charge if they fit the budget (or it is a route never shed) and says
     * whether they did; null when the budget is off.
     */
    growBodyCharge: ((bytes: number) => boolean) | null;
  }
}

async function bodyBudgetPlugin(app: FastifyInstance, options: BodyBudgetOptions): Promise<void> {
  app.decorateRequest('growBodyCharge', null);
  if (options.bytes === 0) return;
  const budget = new ByteBudget(options.bytes);
  // A callback hook, not an async one: every request passes here, most with no body.
  app.addHook('onRequest', (request, reply, done) => {
    const bytes = chargeOf(request);
    if (bytes === 0 && request.headers['content-encoding'] === undefined) {
      done();
      return;
    }
    if (!budget.fits(bytes) && isShed(request.routeOptions.config)) {
      refuseOverloaded(
        app,
        request,
        reply,
        `request bodies of ${budget.held} bytes are being handled, and this one's ${bytes} would pass the ${options.bytes}-byte budget (BODY_BUDGET_BYTES); retry shortly`,
        1,
      );
      return;
    }
    const grow = budget.hold(bytes, reply.raw);
    const always = !isShed(request.routeOptions.config);
    request.growBodyCharge = (more) => grow(more, always);
    done();
  });
}

export default fp(bodyBudgetPlugin, { name: 'body-budget' });
