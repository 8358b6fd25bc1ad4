// The inline queue's job store runs in this thread. SQLite's calls are synchronous, and on a disk that hangs
// (a network volume that stops answering) one call would stop the event loop, and with it every request,
// liveness included, until the disk came back; here it stops only this thread. The database opens with the
// first call, so a failure to open (another process holds it, it is damaged) is that call's error.
import { workerData } from 'node:worker_threads';
import { threadData } from '../../../lib/thread.js';
import { serveTasks } from '../../../lib/thread-pool.js';
import { JobStore } from './job-store.js';
import type { JobStoreCall } from './threaded-job-store.js';

const path = threadData<string>(workerData);
let store: JobStore | undefined;

serveTasks<JobStoreCall, unknown>(({ method, args }) => {
  if (method === 'close') {
    store?.close();
    store = undefined;
    return { reply: undefined };
  }
  store ??= new JobStore(path);
  const call = store[method] as (...args: unknown[]) => unknown;
  return { reply: call.apply(store, args) };
});
