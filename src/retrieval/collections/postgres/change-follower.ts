// Keeps a replica in step with the change log: a dedicated connection LISTENs for the notification every
// write sends, and a timer polls as well, so a notification missed (while reconnecting, say) costs at
// most one poll interval. Each wake-up runs `catchUp`; passes never overlap, and a wake-up during a pass
// runs one more pass after it. A lost connection is re-opened with a growing pause, then caught up on.
import pg from 'pg';
import type { Log } from '../../../lib/log.js';

export const CHANGES_CHANNEL = 'meanserve_collection_changes';
const POLL_MS = 1000;
const RECONNECT_MS = [250, 500, 1000, 2000, 5000];

export class ChangeFollower {
  private listener: pg.Client | undefined;
  private poll: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private failures = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Why the last pass failed; undefined after one succeeds. */
  lastError: string | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly catchUp: () => Promise<void>,
    private readonly log: Log,
  ) {}

  start(): void {
    this.poll = setInterval(() => this.wake(), POLL_MS);
    this.poll.unref();
    void this.listen();
  }

  /** Runs a pass now, or once more after the one running; resolves when that pass has ended. */
  wake(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass();
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.reconnect);
    await this.running;
    await this.listener?.end().catch(() => undefined);
  }

  private async pass(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.catchUp();
        if (this.lastError !== undefined) this.log.info('caught up with the collection change log again');
        this.lastError = undefined;
      } catch (error) {
        if (this.lastError === undefined)
          this.log.warn({ err: error }, 'cannot read the collection change log; serving the last index');
        this.lastError = (error as Error).message;
      }
    } while (this.again && !this.closed);
    this.running = undefined;
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 2000 });
    this.listener = client;
    let lost = false;
    const retry = (error: Error) => {
      if (lost || this.closed) return;
      lost = true;
      const pause = RECONNECT_MS[Math.min(this.failures++, RECONNECT_MS.length - 1)] as number;
      if (this.failures === 1) this.log.warn({ err: error }, 'change-log listener lost; reconnecting');
      client.end().catch(() => undefined);
      this.reconnect = setTimeout(() => void this.listen(), pause);
      this.reconnect.unref();
    };
    client.on('error', retry);
    client.on('end', () => retry(new Error('connection ended')));
    client.on('notification', () => void this.wake());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (this.failures > 0) this.log.info('change-log listener reconnected');
      this.failures = 0;
      void this.wake();
    } catch (error) {
      retry(error as Error);
    }
  }
}
