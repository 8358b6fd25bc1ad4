// The token buckets of rate-limit.ts kept in Redis, so that every replica draws on one bucket per key and
// route family. One Lua script takes a token atomically, on Redis's own clock (TIME), so replicas whose
// clocks disagree still agree on the bucket. A bucket expires once it would be full again (a minute idle).
// When Redis does not answer within COMMAND_TIMEOUT_MS, or is unreachable, the caller counts in its own
// process instead (`fallback`): limits hold per process until Redis is back, and no request waits on it.
import { Redis } from 'ioredis';
import type { Log } from '../../lib/log.js';
import type { Taken, TokenBuckets } from './rate-limit.js';

const COMMAND_TIMEOUT_MS = 250;
/** At most one warning per this many ms while Redis is away. */
const WARN_EVERY_MS = 10_000;

const TAKE_TOKEN = `
local perMinute = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local ratePerMs = perMinute / 60000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1]) or perMinute
local at = tonumber(stored[2]) or now
tokens = math.min(perMinute, tokens + math.max(0, now - at) * ratePerMs)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
if taken == 1 then return {1, math.floor(tokens)} end
return {0, math.ceil((1 - tokens) / ratePerMs)}
`;

type TakeCommand = (key: string, perMinute: number) => Promise<[number, number]>;

export class RedisTokenBuckets {
  private readonly redis: Redis;
  private lastWarning = -Infinity;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly fallback: TokenBuckets,
    private readonly log: Log,
  ) {
    // No offline queue and a command timeout: while Redis is away a take fails at once (or after 250 ms)
    // and the process's own buckets answer.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      lazyConnect: false,
    });
    this.redis.on('error', () => {
      // Reported by take() when it matters; ioredis reconnects on its own.
    });
    this.redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  }

  async take(id: string, perMinute: number): Promise<Taken> {
    try {
      const take = (this.redis as unknown as { takeToken: TakeCommand }).takeToken;
      const [ok, value] = await take.call(this.redis, `${this.prefix}:ratelimit:${id}`, perMinute);
      return ok === 1 ? { ok: true, remaining: value } : { ok: false, waitMs: value };
    } catch (error) {
      const now = performance.now();
      if (now - this.lastWarning >= WARN_EVERY_MS) {
        this.lastWarning = now;
        this.log.warn(
          { err: error },
          'rate limits: Redis did not answer, or refused the count (full); counting in this process until it takes it',
        );
      }
      return this.fallback.take(id, perMinute);
    }
  }

  close(): void {
    this.redis.disconnect();
  }
}
