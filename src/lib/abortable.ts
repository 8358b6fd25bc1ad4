// Cancellation that costs nothing until it is used. On Node 20 an AbortController takes ~4 µs to create
// and an abort listener ~3 µs to add and remove: with the batch's combined signal and the deadline race that
// was a fifth of the CPU of a 1-row inference request (bench/http.ts). The queues a request waits in take
// `Abortable`, the part of AbortSignal they use; AbortSignal has it, and so has `Cancellation`, which makes a
// real AbortSignal only when something outside the process (a thread pool's caller, a driver) asks for one.

/** What a queue needs of a signal: whether it aborted, why, and a call when it does. */
export interface Abortable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** An abort that happens once; listeners added afterwards are not called (as with AbortSignal). */
export class Cancellation implements Abortable {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;
  private controller: AbortController | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    this.listeners ??= [];
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners?.splice(index, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener();
    this.controller?.abort(reason);
  }

  /** The same cancellation as an AbortSignal, for APIs that take one; made on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/** Aborts once every one of `all` has (with the last one's reason); undefined when any cannot abort. */
export function everyAborted(all: Array<Abortable | undefined>): Cancellation | undefined {
  if (all.some((one) => one === undefined)) return undefined;
  const every = new Cancellation();
  let left = all.length;
  for (const one of all as Abortable[]) {
    const gone = () => {
      left--;
      if (left === 0) every.abort(one.reason);
    };
    if (one.aborted) gone();
    else one.addEventListener('abort', gone, { once: true });
  }
  return every;
}
