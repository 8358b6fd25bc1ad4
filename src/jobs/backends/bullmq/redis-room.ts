// A Redis at its maxmemory under noeviction (the only policy BullMQ's guide allows) refuses every command
// that could grow it, with an OOM error, until finished jobs expire or an operator gives it memory. BullMQ's
// worker takes that refusal for an ordinary error: it asks for the next job again at once — thousands of
// refusals a second, each one logged — and fails a job whose artifacts or result it could not store,
// spending all its attempts within seconds. The worker here waits for room instead (bullmq-worker.ts); this
// is how it tells that Redis is full, and when it has room again.
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';

const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 5000;

/** Whether Redis refused a write for want of memory: its OOM reply, or a MULTI it discarded for one. */
export function isRedisFull(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.message.startsWith('OOM ')) return true;
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  return Array.isArray(previous) && previous.some(isRedisFull);
}

export class RedisRoom {
  constructor(
    private readonly redis: Redis,
    private readonly probeKey: string,
  ) {}

  /**
   * Whether Redis takes writes now. A probe write, not a reading of INFO's used_memory: Redis leaves buffers
   * out of its own count, so only a write refused or taken tells exactly.
   */
  async hasRoom(): Promise<boolean> {
    try {
      await this.redis.set(this.probeKey, '1', 'PX', 1000);
      return true;
    } catch (error) {
      if (isRedisFull(error)) return false;
      throw error;
    }
  }

  /** Resolves once Redis takes writes, asking again after a pause that grows to 5 s; rejects when `signal` aborts. */
  async wait(signal: AbortSignal): Promise<void> {
    for (let pause = FIRST_PAUSE_MS; !(await this.hasRoom()); pause = Math.min(2 * pause, LONGEST_PAUSE_MS)) {
      await delay(pause, undefined, { signal });
    }
  }
}
