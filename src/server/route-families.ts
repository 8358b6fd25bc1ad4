// Which routes are open without a key, which are never shed, and which rate-limit family a route is in —
// decided from the matched route pattern (never the raw URL, so `/health/../v1/jobs` cannot pass as health).
import type { RouteFamily } from '../config.js';

/** Health probes, the OpenAPI document and its UI: answered without a key (load balancers, browsers). */
export function isOpenRoute(pattern: string | undefined): boolean {
  if (pattern === undefined) return false;
  return (
    pattern.startsWith('/health/') ||
    pattern.startsWith('/v2/health/') ||
    pattern === '/docs' ||
    pattern.startsWith('/docs/') ||
    pattern === '/openapi.json'
  );
}

/** The queue dashboard: its own admin keys, not API keys (src/server/plugins/queue-dashboard.ts). */
export function isAdminRoute(pattern: string | undefined): boolean {
  return pattern !== undefined && (pattern === '/admin/queues' || pattern.startsWith('/admin/'));
}

/** Routes that stay answerable under overload: probes, metrics and docs take no compute. */
export function isExemptFromShedding(pattern: string | undefined): boolean {
  return isOpenRoute(pattern) || pattern === '/metrics';
}

const INFERENCE = [
  /^\/v2\/models\/.*\/infer$/,
  /^\/v1\/meanflow\//,
  /^\/v1\/completions$/,
  /^\/v1\/embeddings$/,
  /^\/v1\/collections\/:name\/search/,
];

/** inference: model compute per request; write: job submissions and cancellations, collection changes; read: the rest. */
export function routeFamily(method: string, pattern: string | undefined): RouteFamily {
  const route = pattern ?? '';
  if (INFERENCE.some((expression) => expression.test(route))) return 'inference';
  if (method !== 'GET' && method !== 'HEAD') return 'write';
  return 'read';
}
