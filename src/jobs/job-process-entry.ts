// Entry point of a job process: runs one job at a time, as many as it is given (job-process.ts keeps it warm
// between jobs, so a job does not pay the process's start, its imports, schema compilation and processor
// loading before its work starts). For each job it validates the params again (the worker may run other code
// than the API that accepted the job), loads the processor of the job type and runs it. One rule says whether
// a failure is permanent: a PermanentError (JobInputError, ManifestError) or an AppError below 500 — no retry
// can fix it. It exits when its host goes, so no job process outlives its server (exitWithHost).
import { AppError, PermanentError } from '../errors.js';
import { exitWithHost } from '../lib/thread.js';
import { findJobType } from './catalog.js';
import type { JobMessage, JobOrder, JobRequest } from './job-process.js';
import { validateJobParams } from './params-validation.js';
import { JobInputError } from './processor.js';

const sendToHost = process.send?.bind(process);
if (sendToHost === undefined) throw new Error('job-process-entry must run as a child process with IPC');
const send = (message: JobMessage) => sendToHost(message);
/** The job running now's cancellation; none between jobs. */
let controller: AbortController | undefined;

async function run(request: JobRequest, signal: AbortSignal): Promise<JobMessage> {
  const jobType = findJobType(request.type);
  if (jobType === undefined) throw new JobInputError(`unknown job type '${request.type}'`);
  validateJobParams(jobType, request.params, '/params');
  const processor = await jobType.load();
  const output = await processor(request.params, {
    seed: request.seed,
    signal,
    models: request.models,
    progress: (progress) => send({ kind: 'progress', progress }),
    tokens: (tokens) => send({ kind: 'tokens', tokens }),
  });
  return { kind: 'done', output };
}

exitWithHost();

process.on('message', (order: JobOrder) => {
  if (order.kind === 'cancel') {
    controller?.abort();
    return;
  }
  const job = new AbortController();
  controller = job;
  run(order.request, job.signal)
    .catch((error: Error): JobMessage => {
      const permanent = error instanceof PermanentError || (error instanceof AppError && error.status < 500);
      return { kind: 'error', name: error.name, message: error.message, permanent };
    })
    .then((message) => {
      controller = undefined;
      send(message);
    });
});
