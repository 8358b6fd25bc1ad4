// Cooperative cancellation for long computations (solvers, job processors): they check an AbortSignal
// between steps and stop by throwing JobCancelledError, whichever thread or process they run in.

/** Thrown by a computation that saw its signal aborted. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/**
 * Call between steps. It first yields to the thread's event loop, so a cancel message that arrived while
 * the previous step held the thread (an ONNX run does) is seen now, not a step later.
 */
export async function cancellationPoint(signal: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new JobCancelledError();
}
