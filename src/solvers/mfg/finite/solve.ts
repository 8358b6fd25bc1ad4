// The mfg.finite loop: evaluate π_k (mean field, Q*, Q^π, exploitability), report it, step the algorithm,
// until the budget or MFGLib's tolerance stops it. π_0 is uniform, as in MFGLib and OpenSpiel.
import { JobCancelledError } from '../../../lib/cancellation.js';
import { type AlgorithmParams, policyUpdate, type Ties } from './algorithms.js';
import { type Evaluation, evaluate } from './evaluation.js';
import type { FiniteGame } from './game.js';
import { uniformPolicy } from './policies.js';

export interface SolveOptions {
  algorithm: AlgorithmParams;
  iterations: number;
  atol: number;
  rtol: number;
  ties: Ties;
  /** Called after each evaluation; may be async (it is where the job process yields for cancel messages). */
  onIteration?: (iteration: number, evaluation: Evaluation) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface Solution {
  /** Exploitability of π_0 … π_k. */
  exploitability: number[];
  final: Evaluation;
  stoppedEarly: boolean;
}

export async function solveFinite(game: FiniteGame, options: SolveOptions): Promise<Solution> {
  const update = policyUpdate(game, options.algorithm, options.ties);
  let current = evaluate(game, uniformPolicy((game.horizon + 1) * game.states, game.actions));
  const exploitability = [current.exploitability];
  const first = current.exploitability;
  const tolerance = options.atol + options.rtol * first;
  const enabled = options.atol > 0 || options.rtol > 0;
  await options.onIteration?.(0, current);
  for (let k = 1; k <= options.iterations; k++) {
    if (enabled && (exploitability.at(-1) as number) <= tolerance)
      return { exploitability, final: current, stoppedEarly: true };
    if (options.signal?.aborted) throw new JobCancelledError();
    current = evaluate(game, update(current));
    exploitability.push(current.exploitability);
    await options.onIteration?.(k, current);
  }
  return { exploitability, final: current, stoppedEarly: false };
}
