// feat.free-energy: FEAT free-energy estimates (He et al. 2025) for a system of the catalog with a transport
// that is none, analytic or a learned ONNX model opened here through context.models; the classical
// baselines beside them. Progress per integration step and direction, cancellation between steps; the log
// path weights and histograms go to feat.json.

import { cancellationPoint } from '../../lib/cancellation.js';
import { LocalModels } from '../../models/local-models.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import type { Evaluations } from '../../solvers/feat/counters.js';
import { checkTransportModel, type FeatParams } from '../../solvers/feat/params.js';
import { builtinTransport, runFeat } from '../../solvers/feat/run.js';
import { createSystem } from '../../solvers/feat/systems/index.js';
import type { Transport } from '../../solvers/feat/transport.js';
import { JobInputError, type Processor } from '../processor.js';
import { featPlots } from './feat-plots.js';

/** Rows per ONNX call. */
const CHUNK = 4096;
const YIELD_EVERY_MS = 50;

export function onnxTransport(
  models: LocalModels,
  entry: ManifestEntry,
  dim: number,
  evaluations: Evaluations,
): Transport {
  return {
    kind: 'learned',
    async fields(t, x, count, b, s) {
      for (let start = 0; start < count; start += CHUNK) {
        const rows = Math.min(CHUNK, count - start);
        const outputs = await models.run(
          entry,
          {
            t: { datatype: 'FP32', shape: [rows], data: new Float32Array(rows).fill(t) },
            x: {
              datatype: 'FP32',
              shape: [rows, dim],
              data: Float32Array.from(x.subarray(start * dim, (start + rows) * dim)),
            },
          },
          ['b', 's'],
        );
        b.set(outputs.b?.data as Float32Array, start * dim);
        s.set(outputs.s?.data as Float32Array, start * dim);
      }
      evaluations.field += count;
    },
  };
}

export const featFreeEnergy: Processor<FeatParams> = async (params, context) => {
  const pair = createSystem(params.system);
  const models = new LocalModels(context.models);
  try {
    let entry: ManifestEntry | undefined;
    if (params.transport.kind === 'learned') {
      entry = await models.entry(params.transport.model, params.transport.version);
      if (entry === undefined) throw new JobInputError(`model ${params.transport.model} is not served`);
      checkTransportModel(entry, params.system, pair.dim);
    }
    const learned = entry;
    let lastYield = performance.now();
    const { result, logWeights } = await runFeat(
      params,
      pair,
      (evaluations) =>
        learned === undefined
          ? builtinTransport(params.transport.kind as 'none' | 'analytic', pair, evaluations)
          : onnxTransport(models, learned, pair.dim, evaluations),
      context.seed,
      {
        progress: (fraction, message) => context.progress({ fraction, message }),
        checkpoint: async () => {
          if (context.signal.aborted || performance.now() - lastYield >= YIELD_EVERY_MS) {
            await cancellationPoint(context.signal);
            lastYield = performance.now();
          }
        },
      },
    );
    const model =
      learned === undefined
        ? undefined
        : { name: learned.name, version: learned.version, sha256: learned.sha256 };
    const artifact = {
      ...result,
      log_weights: { forward: Array.from(logWeights.forward), reverse: Array.from(logWeights.reverse) },
    };
    const plots = await featPlots(result, logWeights);
    return {
      result: {
        ...result,
        transport: { ...result.transport, ...(model === undefined ? {} : { model }) },
        provider: learned === undefined ? undefined : await models.provider(learned),
        artifact: 'feat.json',
        plots: plots.map((plot) => plot.name),
      },
      artifacts: [
        {
          name: 'feat.json',
          contentType: 'application/json',
          data: new TextEncoder().encode(JSON.stringify(artifact)),
        },
        ...plots,
      ],
    };
  } finally {
    await models.close();
  }
};
