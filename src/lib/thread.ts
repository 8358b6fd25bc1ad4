// Starting worker threads and child processes from both the TypeScript sources (under tsx) and the compiled
// build (dist/).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

const entryOf = (base: string, name: string) =>
  new URL(`./${name}${RUNNING_FROM_SOURCE ? '.ts' : '.js'}`, base).href;

/**
 * Starts `<name>.ts` (from source) or `<name>.js` (compiled) next to `base` in a worker thread.
 * The thread reads `data` with threadData().
 */
export function startThread(base: string, name: string, data?: unknown): Worker {
  const entry = entryOf(base, name);
  const file = RUNNING_FROM_SOURCE ? new URL('./ts-thread-bootstrap.mjs', import.meta.url) : new URL(entry);
  return new Worker(file, { workerData: { entry, data } });
}

/** The descriptor of a child process's data pipe (startChildProcess's `dataPipe`), after stdio and IPC. */
export const DATA_PIPE_FD = 4;

/**
 * Starts `<name>` next to `base` as a child process of its own, with an IPC channel that carries typed
 * arrays (advanced serialization): for work that must be killable, which a thread inside native code is not.
 * With `dataPipe`, a pipe at DATA_PIPE_FD too, for messages that Node's IPC would pass more slowly
 * (message-pipe.ts). With `dataLimitBytes` the process starts under that RLIMIT_DATA (a shell's `ulimit -d`,
 * which then execs node: Node cannot set a child's limits itself): an allocation past it fails in the
 * process (onnxruntime's std::bad_alloc, V8's out-of-memory) instead of growing until the kernel's
 * out-of-memory killer picks a victim, which on a busy machine is the server. Reserved address space does
 * not count, only writable private memory, so V8's reservations do not reach it.
 */
export function startChildProcess(
  base: string,
  name: string,
  { dataLimitBytes, dataPipe = false }: { dataLimitBytes?: number | undefined; dataPipe?: boolean } = {},
): ChildProcess {
  const nodeArgs = RUNNING_FROM_SOURCE ? ['--import', 'tsx'] : [];
  const limited =
    dataLimitBytes === undefined
      ? { execArgv: nodeArgs }
      : {
          execPath: '/bin/sh',
          execArgv: [
            '-c',
            `ulimit -d ${Math.ceil(dataLimitBytes / 1024)} && exec "$0" "$@"`,
            process.execPath,
            ...nodeArgs,
          ],
        };
  const child = fork(fileURLToPath(entryOf(base, name)), [], {
    ...limited,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(dataPipe ? ['pipe' as const] : [])],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Child processes alive. An idle one exits when its host does (its IPC channel closes), but one inside a
 * native run cannot see that until the run ends: a host that exits (an uncaught error, say) kills them first.
 */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Called by the entry point of a process started with startChildProcess: ends it once its host is gone.
 * An idle one hears the IPC channel close; a busy one's event loop may be inside a native run that lasts
 * hours (an upload's graph of 2^62 iterations, a job's value-dependent run), and a host SIGKILLed then left
 * it running, orphaned. A thread of its own notices the new parent within a second and kills the process.
 * Plain JavaScript evaluated in place: nothing to import.
 */
export function exitWithHost(): void {
  process.on('disconnect', () => process.exit(0));
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 1000);`,
    { eval: true, workerData: process.ppid },
  );
  watchdog.unref();
}

/** The `data` a thread was started with. */
export function threadData<T>(workerData: unknown): T {
  return (workerData as { data: T }).data;
}
