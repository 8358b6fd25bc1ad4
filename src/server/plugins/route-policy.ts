// Each route declares, in its own `config`, where it stands with the security plugins: who may call it
// (`access`: open without a key, or admin keys only; by default an API key), which family its rate limit
// and deadline come from (`family`: inference routes say so; other routes are write for non-GET methods and
// read for GET), and whether overload shedding may refuse it (`shed: false` for routes that take no
// compute), whether its errors take OpenAI's shape (`errors: 'openai'`), and whether it is an HTML page for
// people (`page`: document security headers, Basic auth's prompt). The plugins read it from the
// matched route, never from the raw URL, so `/health/../v1/jobs` cannot pass as health. Unknown paths have no
// config: protected, read, shed, problem+json.
import type { FastifyContextConfig } from 'fastify';
import type { RouteFamily } from '../../config.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: 'open' | 'admin';
    family?: RouteFamily;
    shed?: boolean;
    /** Error bodies in OpenAI's shape, for the OpenAI-compatible routes (problem.ts). */
    errors?: 'openai';
    /**
     * An HTML page for people (or its UI's assets): it gets the security headers of documents, and a missing
     * key is asked for with Basic auth, which browsers prompt for.
     */
    page?: boolean;
  }
}

type RouteConfig = FastifyContextConfig | undefined;

/** Health probes, the OpenAPI document and its UI: answered without a key (load balancers, browsers). */
export function isOpen(config: RouteConfig): boolean {
  return config?.access === 'open';
}

/** The queue dashboard: its own admin keys, not API keys (queue-dashboard.ts). */
export function isAdmin(config: RouteConfig): boolean {
  return config?.access === 'admin';
}

/** Open routes and those that take no compute (metrics) stay answerable under overload. */
export function isShed(config: RouteConfig): boolean {
  return !isOpen(config) && config?.shed !== false;
}

export function familyOf(method: string, config: RouteConfig): RouteFamily {
  if (config?.family !== undefined) return config.family;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/**
 * The media type of a route's errors: application/json where the clients of an ecosystem read their own shape
 * (OpenAI's on routes that say `errors: 'openai'`, KServe's on the Open Inference Protocol under /v2),
 * problem+json everywhere else. The error handler sends it and the OpenAPI document declares it.
 */
export function errorMediaType(
  config: RouteConfig,
  url: string,
): 'application/json' | 'application/problem+json' {
  return config?.errors === 'openai' || url.startsWith('/v2')
    ? 'application/json'
    : 'application/problem+json';
}

/**
 * Whether a route takes a top-level null in its body as the field not given (openai-nulls.ts), as OpenAI's
 * API does: the OpenAI-compatible POST routes. The OpenAPI document marks their optional fields nullable.
 */
export function takesNullAsAbsent(method: string | string[], config: RouteConfig): boolean {
  return config?.errors === 'openai' && [method].flat().includes('POST');
}
