// Entry point of a job thread: validates params again (the worker may run other code than the API that
// accepted the job), loads the processor of the job type and runs it. One rule says whether a failure is
// permanent: a PermanentError (JobInputError, ManifestError) or an AppError below 500 — no retry can fix it.
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, PermanentError } from '../errors.js';
import { threadData } from '../lib/thread.js';
import { findJobType } from './catalog.js';
import type { JobThreadMessage, JobThreadRequest } from './job-thread.js';
import { validateJobParams } from './params-validation.js';
import { JobInputError } from './processor.js';

const port = parentPort;
if (port === null) throw new Error('job-thread-entry must run in a worker thread');
const request = threadData<JobThreadRequest>(workerData);
const controller = new AbortController();
port.on('message', (message) => {
  if (message === 'cancel') controller.abort();
});

async function run(): Promise<JobThreadMessage> {
  const jobType = findJobType(request.type);
  if (jobType === undefined) throw new JobInputError(`unknown job type '${request.type}'`);
  validateJobParams(jobType, request.params, '/params');
  const processor = await jobType.load();
  const output = await processor(request.params, {
    seed: request.seed,
    signal: controller.signal,
    models: request.models,
    progress: (progress) => port?.postMessage({ kind: 'progress', progress } satisfies JobThreadMessage),
    tokens: (tokens) => port?.postMessage({ kind: 'tokens', tokens } satisfies JobThreadMessage),
  });
  return { kind: 'done', output };
}

run()
  .then((message) => {
    const buffers = message.kind === 'done' ? (message.output.artifacts ?? []).map((a) => a.data.buffer) : [];
    port.postMessage(message, [...new Set(buffers)] as ArrayBuffer[]);
  })
  .catch((error: Error) => {
    const permanent = error instanceof PermanentError || (error instanceof AppError && error.status < 500);
    port.postMessage({
      kind: 'error',
      name: error.name,
      message: error.message,
      permanent,
    } satisfies JobThreadMessage);
  })
  // Let the thread end once the reply is out; the cancel listener alone must not keep it alive.
  .finally(() => port.unref());
