// API keys: with API_KEYS configured, every route but the open ones (route-policy.ts) needs
// `Authorization: Bearer <key>`, else 401 problem+json with `WWW-Authenticate: Bearer` (and a Basic line, below).
// A browser presents the key as the password of Basic auth instead: the pages (/jobs, /meanflow) answer 401
// with `WWW-Authenticate: Basic` only, the browser asks for it once and sends it with the pages' own API calls.
// Keys are compared in constant time (SHA-256 digests through timingSafeEqual, every key checked); the key's
// name, never the key, goes to the request log and the metrics. No keys: every route is open and the start-up
// log says so.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiKey } from '../../config.js';
import { sendProblem } from './problem.js';
import { isAdmin, isOpen } from './route-policy.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Name of the API key the request presented; undefined on open routes or when no keys are configured. */
    apiKeyName: string | undefined;
  }
}

export interface AuthOptions {
  /** Accepted keys; empty leaves every route open. */
  keys: ApiKey[];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Returns the name of the key that matches, comparing against every key whatever matches first. */
export function keyMatcher(keys: ApiKey[]): (presented: string) => string | undefined {
  const digests = keys.map(({ name, key }) => ({ name, digest: digest(key) }));
  return (presented) => {
    const candidate = digest(presented);
    let found: string | undefined;
    for (const entry of digests) {
      if (timingSafeEqual(entry.digest, candidate) && found === undefined) found = entry.name;
    }
    return found;
  };
}

/** The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return match?.[1];
}

/** The password of `Authorization: Basic base64(user:password)`; the user name is ignored. */
export function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function unauthorized(request: FastifyRequest, reply: FastifyReply, detail: string): FastifyReply {
  // A page asks the browser for the key (Basic); an API route names Bearer first and Basic in the same realm
  // (two header lines: browsers read one challenge per line), so a page's own calls are answered from the
  // credentials the browser already holds, without a prompt.
  const basic = 'Basic realm="meanserve", charset="UTF-8"';
  const page = request.routeOptions.config?.page === true;
  reply.header('www-authenticate', page ? basic : ['Bearer realm="meanserve"', basic]);
  return sendProblem(request, reply, { status: 401, code: 'unauthorized', title: 'Unauthorized', detail });
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  app.decorateRequest('apiKeyName', undefined);
  if (options.keys.length === 0) {
    app.log.warn('API_KEYS is not set: every route is open to anyone who can reach this port');
    return;
  }
  const match = keyMatcher(options.keys);
  app.addHook('onRequest', async (request, reply) => {
    const { config } = request.routeOptions;
    if (isOpen(config) || isAdmin(config)) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      app.metrics.rejected('unauthorized');
      return unauthorized(request, reply, 'this route needs an API key: Authorization: Bearer <key>');
    }
    const token = bearerToken(header) ?? basicPassword(header);
    const name = token === undefined ? undefined : match(token);
    if (name === undefined) {
      app.metrics.rejected('unauthorized');
      return unauthorized(request, reply, 'the Authorization header does not carry a valid API key');
    }
    request.apiKeyName = name;
  });
}

export default fp(authPlugin, { name: 'auth' });
