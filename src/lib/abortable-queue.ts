// A FIFO whose waiters can leave: the request that waits for a thread or a batch goes away when its client
// does (or its deadline passes), instead of being computed for nobody.

import type { Abortable } from './abortable.js';

export interface Waiter<R> {
  resolve(value: R): void;
  reject(error: Error): void;
}

/**
 * Appends the waiter `create` makes to `queue` and resolves with what its consumer gives it. While it still
 * waits, an abort of `signal` takes it out of the queue and rejects with the signal's reason; once its
 * consumer has taken it out, it runs to the end. The waiter is in the queue when this returns.
 */
export function joinQueue<R, W extends Waiter<R>>(
  queue: W[],
  signal: Abortable | undefined,
  create: (settle: Waiter<R>) => W,
): Promise<R> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => {
      const index = queue.indexOf(waiter);
      if (index < 0) return;
      queue.splice(index, 1);
      reject(signal?.reason);
    };
    const waiter = create({
      resolve: (value) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      reject: (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}
