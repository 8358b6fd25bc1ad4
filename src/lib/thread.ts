// Starting worker threads from both the TypeScript sources (under tsx) and the compiled build (dist/).
import { Worker } from 'node:worker_threads';

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Starts `<name>.ts` (from source) or `<name>.js` (compiled) next to `base` in a worker thread.
 * The thread reads `data` with threadData().
 */
export function startThread(base: string, name: string, data?: unknown): Worker {
  const entry = new URL(`./${name}${RUNNING_FROM_SOURCE ? '.ts' : '.js'}`, base).href;
  const file = RUNNING_FROM_SOURCE ? new URL('./ts-thread-bootstrap.mjs', import.meta.url) : new URL(entry);
  return new Worker(file, { workerData: { entry, data } });
}

/** The `data` a thread was started with. */
export function threadData<T>(workerData: unknown): T {
  return (workerData as { data: T }).data;
}
