// Δμ of a solved hybrid on its graph: R seeded N-agent runs (run r takes the job seed's stream r, r ≥ 1)
// against the model's prediction on the same graph (prediction.ts).
import { deriveSeed, Random } from '../../../lib/random.js';
import { coreLaws } from './core.js';
import type { HybridSolution } from './hybrid.js';
import {
  type DeltaMu,
  deltaMuOfRun,
  type PredictedLaws,
  predictLaws,
  simulatedOverall,
} from './prediction.js';
import type { GraphexProblem } from './problem.js';
import { type AgentPolicies, simulateRun } from './simulate.js';

export interface DeltaMuMeasurement {
  /** Mean over runs; core/periphery null when the graph has no vertex of that part. */
  mean: DeltaMu;
  runs: DeltaMu[];
  predicted: PredictedLaws;
  /** Simulated overall state law, steps·S, mean over runs. */
  simulated: Float64Array;
  /** T: laws at t = 0 … T − 1 enter Δμ. */
  steps: number;
}

export async function measureDeltaMu(
  problem: GraphexProblem,
  solution: HybridSolution,
  runs: number,
  seed: number,
  onRun?: (run: number) => void | Promise<void>,
): Promise<DeltaMuMeasurement> {
  const { game, graph, partition } = problem;
  const steps = game.horizon;
  const policies: AgentPolicies = { core: solution.final.core.policy, periphery: [] };
  const peripheryLaws: Array<Float64Array | undefined> = [];
  solution.final.periphery.forEach((evaluation, i) => {
    const model = solution.models[i];
    if (model === undefined) return;
    policies.periphery[evaluation.degree] = { policy: evaluation.policy, neighbourhood: model.neighbourhood };
    peripheryLaws[evaluation.degree] = evaluation.law;
  });
  const predicted = predictLaws(
    partition,
    game.states,
    steps,
    coreLaws(game, partition.structure, solution.final.core.environment.jointLaw),
    peripheryLaws,
  );
  const counts: Int32Array[] = [];
  const perRun: DeltaMu[] = [];
  for (let run = 1; run <= runs; run++) {
    const result = simulateRun(game, graph, partition, policies, steps, new Random(deriveSeed(seed, run)));
    counts.push(result);
    perRun.push(deltaMuOfRun(result, predicted, game.states, steps));
    await onRun?.(run);
  }
  const average = (pick: (d: DeltaMu) => number | null) => {
    const values = perRun.map(pick);
    if (values.some((value) => value === null)) return null;
    return (values as number[]).reduce((sum, value) => sum + value, 0) / values.length;
  };
  return {
    mean: {
      overall: average((d) => d.overall),
      core: average((d) => d.core),
      periphery: average((d) => d.periphery),
    },
    runs: perRun,
    predicted,
    simulated: simulatedOverall(counts, game.states, steps),
    steps,
  };
}
