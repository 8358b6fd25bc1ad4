// A number that only grows (a change sequence), and bounded waits for it to reach a value: a reader that
// must see at least change N (read-your-writes across replicas) waits here until N has been applied.

import type { Abortable } from './abortable.js';

interface Waiter {
  at: number;
  resolve: (reached: boolean) => void;
}

export class SequenceGate {
  private value: number;
  private waiters: Waiter[] = [];

  constructor(initial = 0) {
    this.value = initial;
  }

  get current(): number {
    return this.value;
  }

  /** Moves the sequence forward (never back) and releases the waits it satisfies. */
  advance(to: number): void {
    if (to <= this.value) return;
    this.value = to;
    const released = this.waiters.filter((waiter) => waiter.at <= to);
    if (released.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.at > to);
    for (const waiter of released) waiter.resolve(true);
  }

  /** True once the sequence is at least `at`; false after `timeoutMs`, or at once when `signal` aborts. */
  reached(at: number, timeoutMs: number, signal?: Abortable): Promise<boolean> {
    if (at <= this.value) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (reached: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(reached);
      };
      const waiter: Waiter = { at, resolve: finish };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
