// Per-key rate limits by route family (RATE_LIMITS): a token bucket per key and family holding a minute's
// allowance, refilled continuously; in Redis when REDIS_URL is set, so replicas share one bucket per key
// (redis-token-buckets.ts), else in this process. Over the limit: 429 problem+json with Retry-After (whole seconds until
// a token is back) and x-ratelimit-limit / x-ratelimit-remaining on every limited reply. Requests without a
// key (no keys configured) are counted per client address. Open routes are never limited.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteFamily } from '../../config.js';
import { sendProblem } from './problem.js';
import { RedisTokenBuckets } from './redis-token-buckets.js';
import { familyOf, isOpen } from './route-policy.js';

export interface RateLimitOptions {
  /** Requests per minute per key for each family; an absent family is unlimited. */
  limits: Partial<Record<RouteFamily, number>>;
  /** Shared buckets in this Redis under this key prefix; absent: buckets in this process. */
  redis?: { url: string; prefix: string };
  /** Buckets kept at most; the least recently used go first (each client address gets one). @defaultValue 100000 */
  maxBuckets?: number;
}

export type Taken = { ok: true; remaining: number } | { ok: false; waitMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly maxBuckets: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; answers how many remain, or the ms until one is back when none is left. */
  take(id: string, perMinute: number): Taken {
    const now = this.now();
    const ratePerMs = perMinute / 60_000;
    const bucket = this.buckets.get(id) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    // Re-inserting keeps the map in least-recently-used order for eviction.
    this.buckets.delete(id);
    this.buckets.set(id, bucket);
    if (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return { ok: false, waitMs: (1 - bucket.tokens) / ratePerMs };
    bucket.tokens -= 1;
    return { ok: true, remaining: Math.floor(bucket.tokens) };
  }
}

async function rateLimitPlugin(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (Object.keys(options.limits).length === 0) return;
  const local = new TokenBuckets(options.maxBuckets ?? 100_000);
  const shared =
    options.redis === undefined
      ? undefined
      : new RedisTokenBuckets(options.redis.url, options.redis.prefix, local, app.log);
  if (shared !== undefined) app.addHook('onClose', async () => shared.close());
  // After auth's onRequest hook, so the key's name is known.
  app.addHook('onRequest', async (request, reply) => {
    const { config } = request.routeOptions;
    if (isOpen(config)) return;
    const family = familyOf(request.method, config);
    const perMinute = options.limits[family];
    if (perMinute === undefined) return;
    const who = request.apiKeyName === undefined ? `ip:${request.ip}` : `key:${request.apiKeyName}`;
    const id = `${family}|${who}`;
    const taken = shared === undefined ? local.take(id, perMinute) : await shared.take(id, perMinute);
    reply.header('x-ratelimit-limit', String(perMinute));
    if (taken.ok) {
      reply.header('x-ratelimit-remaining', String(taken.remaining));
      return;
    }
    reply.header('x-ratelimit-remaining', '0');
    app.metrics.rejected('rate-limited', request.apiKeyName);
    return sendProblem(request, reply, {
      status: 429,
      code: 'rate-limited',
      title: 'Too many requests',
      detail: `over the limit of ${perMinute} ${family} requests per minute for this ${
        request.apiKeyName === undefined ? 'client' : 'key'
      }`,
      retryAfter: Math.max(1, Math.ceil(taken.waitMs / 1000)),
    });
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['auth'] });
