// Job artifacts, whichever backend stores them: the one thing a job run
// needs of a store. The stores are the backends' own (backends/inline/artifact-files.ts,
// backends/bullmq/redis-artifacts.ts).
import type { Artifact } from './job-record.js';

/** Where a finished job's artifacts are put (executeJob's side of either store). */
export interface ArtifactSink {
  put(jobId: string, artifacts: Artifact[]): Promise<void>;
}
