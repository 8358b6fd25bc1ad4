// Live job events for the BullMQ backend, by polling: every subscribed job is read every POLL_MS and a
// change of progress or state becomes an event. Polling (rather than BullMQ's QueueEvents streams) misses
// nothing across Redis outages or replicas, owns no extra connection, and closes at once when Redis is down.
import { EventEmitter } from 'node:events';
import { FINISHED_STATES, type JobEvent, type JobRecord } from '../../job-record.js';

const POLL_MS = 250;

interface Watched {
  last?: JobRecord;
}

export class JobWatcher {
  private readonly events = new EventEmitter();
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly read: (id: string) => Promise<JobRecord | undefined>) {
    this.events.setMaxListeners(0);
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.events.on(id, listener);
    if (!this.watched.has(id)) this.watched.set(id, {});
    this.timer ??= setInterval(() => void this.poll(), POLL_MS);
    return () => {
      this.events.off(id, listener);
      if (this.events.listenerCount(id) === 0) this.watched.delete(id);
      if (this.watched.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [id, watched] of this.watched) {
        const record = await this.read(id).catch(() => undefined);
        if (record === undefined) continue;
        const last = watched.last;
        watched.last = record;
        if (last !== undefined && JSON.stringify(last.progress) !== JSON.stringify(record.progress)) {
          this.events.emit(id, { kind: 'progress', progress: record.progress } satisfies JobEvent);
        }
        if (FINISHED_STATES.has(record.state)) {
          this.events.emit(id, { kind: 'finished', job: record } satisfies JobEvent);
          this.watched.delete(id);
        } else if (last === undefined || last.state !== record.state) {
          this.events.emit(id, { kind: 'state', state: record.state } satisfies JobEvent);
        }
      }
    } finally {
      this.polling = false;
    }
  }
}
