// What browsers are told: security headers on every response (helmet's) with a Content-Security-Policy that
// the API docs (/docs, Swagger UI) and the queue dashboard work under — everything from this origin, no inline
// scripts, no framing, nothing fetched from elsewhere — and CORS (@fastify/cors), off unless CORS_ORIGINS names
// the origins whose pages may call the API.
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

async function browserSecurity(app: FastifyInstance, options: BrowserSecurityOptions): Promise<void> {
  const corsOn = options.corsOrigins.length > 0;
  const headers = securityHeaders({
    // helmet's defaults plus upgrade-insecure-requests would send a browser on plain-HTTP localhost to https.
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    // With CORS on, pages of the allowed origins may also embed what the API returns (an <img> of a grid).
    crossOriginResourcePolicy: { policy: corsOn ? 'cross-origin' : 'same-origin' },
  });
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(headers);
  });
  if (!corsOn) return;
  await app.register(cors, {
    origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
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
