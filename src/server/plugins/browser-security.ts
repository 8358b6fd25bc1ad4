// What browsers are told: security headers on every answer (event streams copy them into their own head,
// event-stream.ts), and CORS (@fastify/cors), off unless CORS_ORIGINS names the origins whose pages may call
// the API. HTML pages for people (routes whose config says `page`: the job and MeanFlow pages, the API docs
// at /docs, the queue dashboard) get helmet's headers with a Content-Security-Policy they work under —
// everything from this origin, no inline scripts, no framing, nothing fetched from elsewhere. Every other
// answer (JSON, images, event streams, errors) gets the set OWASP's REST Security Cheat Sheet asks of API
// responses: helmet's others (Cross-Origin-Opener-Policy, Origin-Agent-Cluster, Referrer-Policy,
// X-DNS-Prefetch-Control, …) govern documents, and they were half the headers and bytes of a small answer,
// written and parsed on every request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

export interface BrowserSecurityOptions {
  /** Origins allowed to call the API from a browser page: exact origins, or ['*'] for any. Empty: no CORS. */
  corsOrigins: string[];
}

const SELF = "'self'";

export const CONTENT_SECURITY_POLICY = {
  defaultSrc: [SELF],
  baseUri: [SELF],
  connectSrc: [SELF],
  fontSrc: [SELF, 'data:'],
  formAction: [SELF],
  frameAncestors: ["'none'"],
  imgSrc: [SELF, 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: [SELF],
  scriptSrcAttr: ["'none'"],
  // Swagger UI and the dashboard set style attributes; styles cannot run code.
  styleSrc: [SELF, "'unsafe-inline'"],
};

/**
 * The headers helmet sets for `options`, computed once: with a static policy they do not depend on the
 * request. (@fastify/helmet builds helmet's middleware again for every request, re-parsing the policy:
 * 6.5 % of the CPU of a GET /health/live load.)
 */
function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw error;
  });
  return headers;
}

/**
 * OWASP's headers for API responses: nothing in them may run, be sniffed into another type, be framed or be
 * stored, and the connection stays on HTTPS once it was.
 */
function apiHeaders(page: Record<string, string>): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': page['cross-origin-resource-policy'] as string,
    'strict-transport-security': page['strict-transport-security'] as string,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

async function browserSecurity(app: FastifyInstance, options: BrowserSecurityOptions): Promise<void> {
  const corsOn = options.corsOrigins.length > 0;
  const pageHeaders = securityHeaders({
    // helmet's defaults plus upgrade-insecure-requests would send a browser on plain-HTTP localhost to https.
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    // With CORS on, pages of the allowed origins may also embed what the API returns (an <img> of a grid).
    crossOriginResourcePolicy: { policy: corsOn ? 'cross-origin' : 'same-origin' },
  });
  const responseHeaders = apiHeaders(pageHeaders);
  // A callback hook: it runs for every request, and an async one costs a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.routeOptions.config?.page === true ? pageHeaders : responseHeaders);
    done();
  });
  if (!corsOn) return;
  await app.register(cors, {
    origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    // Any header the page's client adds: the openai SDK sends x-stainless-os, -runtime, -retry-count … and a
    // page using it was refused at the preflight when only this API's own headers were named. The wildcard
    // holds for requests without credentials (none are used here) and never covers Authorization, so that
    // is named.
    allowedHeaders: ['authorization', '*'],
    exposedHeaders: [
      'location',
      'retry-after',
      'idempotent-replayed',
      'x-request-id',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
    ],
    maxAge: 600,
  });
}

export default fp(browserSecurity, { name: 'browser-security' });
