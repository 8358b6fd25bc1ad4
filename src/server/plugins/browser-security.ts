// What browsers are told: security headers on every response (@fastify/helmet) with a Content-Security-Policy
// that the API docs (/docs, Swagger UI) and the queue dashboard work under — everything from this origin, no
// inline scripts, no framing, nothing fetched from elsewhere — and CORS (@fastify/cors), off unless
// CORS_ORIGINS names the origins whose pages may call the API.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

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

async function browserSecurity(app: FastifyInstance, options: BrowserSecurityOptions): Promise<void> {
  const corsOn = options.corsOrigins.length > 0;
  await app.register(helmet, {
    // helmet's defaults plus upgrade-insecure-requests would send a browser on plain-HTTP localhost to https.
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    // With CORS on, pages of the allowed origins may also embed what the API returns (an <img> of a grid).
    crossOriginResourcePolicy: { policy: corsOn ? 'cross-origin' : 'same-origin' },
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
