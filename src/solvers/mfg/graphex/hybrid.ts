// Hybrid online mirror descent, HOMD (meanfield.md §3): mirror descent on the core's M classes (mfg.finite's
// online_mirror_descent, y ← y + α·Q^π, π = softmax(y), on the extended-state core game) and, at every
// iteration, the periphery's per-degree MDPs against the core field of that iterate, by backward induction.
// The periphery policy is either its own mirror descent against the moving field (`mirror_descent`, the
// default: its exploitability per degree is then a real residual that shrinks as the core settles), or the
// greedy best response to the current field (`best_response`, the paper's Algorithm 1 line 14 applied at
// every iterate: its exploitability is 0 by construction).
import type { Evaluation } from '../finite/evaluation.js';
import { greedyPolicy, softmaxPolicy, uniformPolicy } from '../finite/policies.js';
import { solveFinite } from '../finite/solve.js';
import { coreGame, peripheryField } from './core.js';
import type { GraphGame } from './game.js';
import type { Partition } from './partition.js';
import {
  compositionLaws,
  type DegreeEvaluation,
  type DegreeModel,
  degreeModel,
  evaluateDegree,
  peripheryOptimalQ,
} from './periphery.js';

export type PeripheryPolicy = 'mirror_descent' | 'best_response';

export interface HybridOptions {
  iterations: number;
  /** α of both mirror descents. */
  step: number;
  peripheryPolicy: PeripheryPolicy;
  signal?: AbortSignal;
  /** Called after each iterate is evaluated; may be async (the job process yields there). */
  onIteration?: (iteration: number, iterate: HybridIterate) => void | Promise<void>;
}

export interface HybridIterate {
  core: Evaluation;
  /** G_per,t, (T + 1)·S. */
  peripheryField: Float64Array;
  /** One evaluation per periphery degree that has vertices, ascending. */
  periphery: DegreeEvaluation[];
  /** Σ_k n_k·exploitability_k / Σ_k n_k over the periphery degrees. */
  peripheryExploitability: number;
}

export interface HybridSolution {
  coreExploitability: number[];
  peripheryExploitability: number[];
  final: HybridIterate;
  models: DegreeModel[];
}

/** The degrees 1 … k_max that have periphery vertices. */
export function peripheryDegrees(partition: Partition): number[] {
  const degrees: number[] = [];
  for (let k = 1; k <= partition.maxDegree; k++)
    if ((partition.degreeCounts[k] as number) > 0) degrees.push(k);
  return degrees;
}

export async function solveHybrid(
  game: GraphGame,
  partition: Partition,
  options: HybridOptions,
): Promise<HybridSolution> {
  const models = peripheryDegrees(partition).map((k) => degreeModel(game, k));
  const rows = (model: DegreeModel) => (game.horizon + 1) * game.states * model.neighbourhood.count;
  const policies = models.map((model) => uniformPolicy(rows(model), game.actions));
  const cumulative = models.map((model) => new Float64Array(rows(model) * game.actions));
  const vertices = models.reduce((sum, model) => sum + (partition.degreeCounts[model.degree] as number), 0);
  const coreExploitability: number[] = [];
  const peripheryExploitability: number[] = [];
  let latest: HybridIterate | undefined;
  await solveFinite(coreGame(game, partition.structure), {
    algorithm: { name: 'online_mirror_descent', step: options.step },
    iterations: options.iterations,
    atol: 0,
    rtol: 0,
    ties: 'uniform',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onIteration: async (iteration, core) => {
      const field = peripheryField(game, partition.structure, core.environment.jointLaw);
      let weighted = 0;
      const periphery = models.map((model, i) => {
        const laws = compositionLaws(model, field);
        let evaluation: DegreeEvaluation;
        if (options.peripheryPolicy === 'best_response') {
          const optimal = peripheryOptimalQ(model, laws);
          evaluation = evaluateDegree(model, laws, greedyPolicy(optimal, game.actions, 'uniform'), optimal);
        } else {
          evaluation = evaluateDegree(model, laws, policies[i] as Float64Array);
          const y = cumulative[i] as Float64Array;
          for (let j = 0; j < y.length; j++) {
            y[j] = (y[j] as number) + options.step * (evaluation.onPolicy[j] as number);
          }
          policies[i] = softmaxPolicy(y, game.actions, 1);
        }
        weighted += (partition.degreeCounts[model.degree] as number) * evaluation.exploitability;
        return evaluation;
      });
      const iterate: HybridIterate = {
        core,
        peripheryField: field,
        periphery,
        peripheryExploitability: vertices > 0 ? weighted / vertices : 0,
      };
      latest = iterate;
      coreExploitability.push(core.exploitability);
      peripheryExploitability.push(iterate.peripheryExploitability);
      await options.onIteration?.(iteration, iterate);
    },
  });
  return {
    coreExploitability,
    peripheryExploitability,
    final: latest as HybridIterate,
    models,
  };
}
