// One try of one job, as both backends run it: the processor in a job process, artifacts stored, and the way
// it ended sorted into completed / cancelled / failed (retryable or not).

import { JobCancelledError } from '../lib/cancellation.js';
import { ARTIFACT_NAME } from '../schemas/jobs.js';
import type { ArtifactSink } from './artifacts.js';
import { type JobEvents, type JobProcessError, type JobRequest, runJobInProcess } from './job-process.js';

export type Outcome =
  | { kind: 'completed'; result: unknown; artifacts: string[] }
  | { kind: 'cancelled'; message: string }
  | { kind: 'failed'; message: string; retryable: boolean };

export async function executeJob(
  jobId: string,
  request: JobRequest,
  options: {
    store: ArtifactSink;
    artifactLimit: number;
    /** How long a cancelled job may take to stop by itself before its process is killed, ms. */
    cancelGraceMs: number;
    signal: AbortSignal;
  } & JobEvents,
): Promise<Outcome> {
  try {
    const output = await runJobInProcess(request, options, options.signal, options.cancelGraceMs);
    const artifacts = output.artifacts ?? [];
    for (const artifact of artifacts) {
      if (!ARTIFACT_NAME.test(artifact.name)) {
        return {
          kind: 'failed',
          message: `artifact name '${artifact.name}' is not allowed`,
          retryable: false,
        };
      }
      if (artifact.data.byteLength > options.artifactLimit) {
        return {
          kind: 'failed',
          message: `artifact ${artifact.name} is ${artifact.data.byteLength} bytes, over the ${options.artifactLimit}-byte limit`,
          retryable: false,
        };
      }
    }
    await options.store.put(jobId, artifacts);
    return {
      kind: 'completed',
      result: output.result,
      artifacts: artifacts.map((artifact) => artifact.name),
    };
  } catch (error) {
    const failure = error as JobProcessError;
    if (options.signal.aborted || failure.name === JobCancelledError.name) {
      return { kind: 'cancelled', message: 'cancelled' };
    }
    return { kind: 'failed', message: failure.message, retryable: failure.permanent !== true };
  }
}
