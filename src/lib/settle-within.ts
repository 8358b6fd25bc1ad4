// Waiting on work that may never end (a write to a disk that hangs) without hanging the caller: the caller
// gets an answer in time, and the work goes on; whatever it does later is the owner's to handle.
import { StorageUnavailableError } from '../errors.js';

/** Settles as `work` does, or rejects with `error()` once `signal` aborts first; `work` goes on either way. */
export function settleWithin<T>(work: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const giveUp = () => reject(error());
    if (signal.aborted) giveUp();
    signal.addEventListener('abort', giveUp, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', giveUp);
        resolve(value);
      },
      (failure: unknown) => {
        signal.removeEventListener('abort', giveUp);
        reject(failure);
      },
    );
  });
}

/**
 * A write to the disk under `where` (DATA_DIR, MODEL_REPOSITORY_DIR), or a 503 storage-unavailable once it
 * has not answered for `timeoutMs`; `retry` tells the client how to repeat it.
 */
export function writtenWithin<T>(
  work: Promise<T>,
  timeoutMs: number,
  where: string,
  retry: string,
): Promise<T> {
  return settleWithin(work, AbortSignal.timeout(timeoutMs), () =>
    StorageUnavailableError.unanswered(where, timeoutMs, retry),
  );
}
