// Every job type: its spec (params schema, summary, submit-time checks: one file each in params/) and its
// processor, loaded lazily inside the job process. Adding a job type is a params file, a processor and an
// entry here.
import { defineJobType, type JobType } from './job-type.js';
import { antidistillTracesJob } from './params/antidistill-traces.js';
import { collectionsIndexJob } from './params/collections-index.js';
import { featFreeEnergyJob } from './params/feat-free-energy.js';
import { meanflowGenerateJob } from './params/meanflow-generate.js';
import { mfgFiniteJob } from './params/mfg-finite.js';
import { mfgGraphexJob } from './params/mfg-graphex.js';
import { mfgPmaJob } from './params/mfg-pma.js';
import { minimaxMarkovGameJob } from './params/minimax-markov-game.js';
import { minimaxMflJob } from './params/minimax-mfl.js';
import { minimaxTwoScaleGdaJob } from './params/minimax-two-scale-gda.js';
import { batchInferJob } from './params/onnx-batch-infer.js';

export const JOB_TYPES: readonly JobType[] = [
  defineJobType({
    ...batchInferJob,
    load: async () => (await import('./processors/onnx-batch-infer.js')).batchInfer,
  }),
  defineJobType({
    ...meanflowGenerateJob,
    load: async () => (await import('./processors/meanflow-generate.js')).meanflowGenerate,
  }),
  defineJobType({
    ...collectionsIndexJob,
    load: async () => (await import('./processors/collections-index.js')).collectionsIndex,
  }),
  defineJobType({
    ...antidistillTracesJob,
    load: async () => (await import('./processors/antidistill-traces.js')).antidistillTraces,
  }),
  defineJobType({
    ...mfgFiniteJob,
    load: async () => (await import('./processors/mfg-finite.js')).mfgFinite,
  }),
  defineJobType({
    ...mfgGraphexJob,
    load: async () => (await import('./processors/mfg-graphex.js')).mfgGraphex,
  }),
  defineJobType({ ...mfgPmaJob, load: async () => (await import('./processors/mfg-pma.js')).mfgPma }),
  defineJobType({
    ...minimaxMflJob,
    load: async () => (await import('./processors/minimax-mfl.js')).minimaxMfl,
  }),
  defineJobType({
    ...minimaxMarkovGameJob,
    load: async () => (await import('./processors/minimax-markov-game.js')).minimaxMarkovGame,
  }),
  defineJobType({
    ...minimaxTwoScaleGdaJob,
    load: async () => (await import('./processors/minimax-two-scale-gda.js')).minimaxTwoScaleGda,
  }),
  defineJobType({
    ...featFreeEnergyJob,
    load: async () => (await import('./processors/feat-free-energy.js')).featFreeEnergy,
  }),
];

export function findJobType(type: string): JobType | undefined {
  return JOB_TYPES.find((jobType) => jobType.type === type);
}

/** The job type names, for the queue backends (which know no more of a job type than its name). */
export const JOB_TYPE_NAMES: readonly string[] = JOB_TYPES.map(({ type }) => type);
