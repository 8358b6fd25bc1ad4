// Redis refuses writes, and only writes, in three states: full (its maxmemory reached under noeviction, the
// only policy BullMQ's guide allows), unable to save to its disk (MISCONF: a full or failing disk under
// its snapshots or append-only file), and as a read-only replica (a failover pointed clients at one). Each
// lasts until an operator, or time, mends it. BullMQ's worker takes a refusal for an ordinary error: it asks
// for the next job again at once — thousands of refusals a second, each one logged — and fails a job whose
// artifacts or result it could not store, spending its attempts within seconds. The worker here waits for
// writes instead (bullmq-worker.ts); this is how it tells a refusal, and when writes are taken again.
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';

export type WriteRefusal = 'full' | 'cannot-save' | 'read-only';

/** Each refusal in words, as logs and problem details say it. */
export const REFUSAL: Record<WriteRefusal, string> = {
  full: 'Redis is full (its maxmemory)',
  'cannot-save': 'Redis cannot save to its disk (MISCONF)',
  'read-only': 'Redis is a read-only replica',
};

const PREFIXES: Array<[string, WriteRefusal]> = [
  ['OOM ', 'full'],
  ['MISCONF ', 'cannot-save'],
  ['READONLY ', 'read-only'],
];

const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 5000;

/** Why Redis refused a write, from its reply (or from the one a discarded MULTI carries); undefined for any other error. */
export function writeRefusal(error: unknown): WriteRefusal | undefined {
  if (!(error instanceof Error)) return undefined;
  const found = PREFIXES.find(([prefix]) => error.message.startsWith(prefix));
  if (found !== undefined) return found[1];
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  if (!Array.isArray(previous)) return undefined;
  return previous.map(writeRefusal).find((refusal) => refusal !== undefined);
}

export class RedisWriteProbe {
  constructor(
    private readonly redis: Redis,
    private readonly probeKey: string,
  ) {}

  /**
   * Why Redis refuses writes now, if it does. A probe write, not a reading of INFO (used_memory, the last
   * save's status): Redis leaves buffers out of its own memory count, so only a write tells exactly.
   */
  async refusal(): Promise<WriteRefusal | undefined> {
    try {
      await this.redis.set(this.probeKey, '1', 'PX', 1000);
      return undefined;
    } catch (error) {
      const refusal = writeRefusal(error);
      if (refusal === undefined) throw error;
      return refusal;
    }
  }

  /** Resolves once Redis takes writes, asking again after a pause that grows to 5 s; rejects when `signal` aborts. */
  async untilTaken(signal: AbortSignal): Promise<void> {
    for (
      let pause = FIRST_PAUSE_MS;
      (await this.refusal()) !== undefined;
      pause = Math.min(2 * pause, LONGEST_PAUSE_MS)
    ) {
      await delay(pause, undefined, { signal });
    }
  }
}
