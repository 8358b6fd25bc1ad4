// Entry point of a job thread: runs one job at a time, as many as it is given (job-thread.ts keeps it warm
// between jobs, so a job does not pay ~150 ms of imports, schema compilation and processor loading before
// its work starts). For each job it validates the params again (the worker may run other code than the API
// that accepted the job), loads the processor of the job type and runs it. One rule says whether a failure
// is permanent: a PermanentError (JobInputError, ManifestError) or an AppError below 500 — no retry can fix it.
import { parentPort } from 'node:worker_threads';
import { AppError, PermanentError } from '../errors.js';
import { findJobType } from './catalog.js';
import type { JobThreadMessage, JobThreadOrder, JobThreadRequest } from './job-thread.js';
import { validateJobParams } from './params-validation.js';
import { JobInputError } from './processor.js';

const port = parentPort;
if (port === null) throw new Error('job-thread-entry must run in a worker thread');
/** The job running now's cancellation; none between jobs. */
let controller: AbortController | undefined;

async function run(request: JobThreadRequest, signal: AbortSignal): Promise<JobThreadMessage> {
  const jobType = findJobType(request.type);
  if (jobType === undefined) throw new JobInputError(`unknown job type '${request.type}'`);
  validateJobParams(jobType, request.params, '/params');
  const processor = await jobType.load();
  const output = await processor(request.params, {
    seed: request.seed,
    signal,
    models: request.models,
    progress: (progress) => port?.postMessage({ kind: 'progress', progress } satisfies JobThreadMessage),
    tokens: (tokens) => port?.postMessage({ kind: 'tokens', tokens } satisfies JobThreadMessage),
  });
  return { kind: 'done', output };
}

port.on('message', (order: JobThreadOrder) => {
  if (order.kind === 'cancel') {
    controller?.abort();
    return;
  }
  const job = new AbortController();
  controller = job;
  run(order.request, job.signal)
    .then((message) => {
      const buffers =
        message.kind === 'done' ? (message.output.artifacts ?? []).map((a) => a.data.buffer) : [];
      return [message, [...new Set(buffers)] as ArrayBuffer[]] as const;
    })
    .catch((error: Error) => {
      const permanent = error instanceof PermanentError || (error instanceof AppError && error.status < 500);
      const message: JobThreadMessage = {
        kind: 'error',
        name: error.name,
        message: error.message,
        permanent,
      };
      return [message, []] as const;
    })
    .then(([message, transfer]) => {
      controller = undefined;
      port.postMessage(message, transfer);
    });
});
