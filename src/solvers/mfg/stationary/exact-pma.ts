// Exact-oracle PMA (meanfield.md §2 rule 2): at each iteration μ_k = μ_{π_k} (the stationary law, warm-
// started from μ_{k−1}), Q = Q^{π_k}_λ(·|μ_k) by a linear solve, then the PMA step. With exact Q the map
// π_k ↦ π_{k+1} is a contraction for small enough η (the paper's analysis route), so ‖π_{k+1} − π_k‖ falls
// geometrically; the job fits that rate.
import { fitLine } from '../../../lib/fit-line.js';
import { evaluateStationary, type StationaryEvaluation } from './evaluation.js';
import type { StationaryGame } from './game.js';
import { pmaStep, policyDistance } from './pma-step.js';

export interface ExactPmaOptions {
  eta: number;
  lambda: number;
  iterations: number;
  /** Stop once ‖π_{k+1} − π_k‖ ≤ tolerance (0: run all iterations). */
  tolerance: number;
  /** Called after each evaluation, iteration 0 being the uniform policy. */
  onIteration?: (iteration: number, evaluation: StationaryEvaluation, step: number) => void | Promise<void>;
}

export interface ExactPmaRun {
  policy: Float64Array;
  evaluation: StationaryEvaluation;
  exploitability: number[];
  /** ‖π_{k+1} − π_k‖ (max over states of the L1 distance), one per step taken. */
  steps: number[];
  stoppedEarly: boolean;
}

export async function exactPma(game: StationaryGame, options: ExactPmaOptions): Promise<ExactPmaRun> {
  const { states, actions } = game;
  let policy: Float64Array = new Float64Array(states * actions).fill(1 / actions);
  let evaluation = evaluateStationary(game, policy, options.lambda);
  const exploitability = [evaluation.exploitability];
  const steps: number[] = [];
  await options.onIteration?.(0, evaluation, Number.NaN);
  for (let iteration = 1; iteration <= options.iterations; iteration++) {
    const next = pmaStep(policy, evaluation.q, actions, options.eta, options.lambda);
    const step = policyDistance(next, policy, actions);
    policy = next;
    evaluation = evaluateStationary(game, policy, options.lambda, evaluation.law.law);
    exploitability.push(evaluation.exploitability);
    steps.push(step);
    await options.onIteration?.(iteration, evaluation, step);
    if (step <= options.tolerance) return { policy, evaluation, exploitability, steps, stoppedEarly: true };
  }
  return { policy, evaluation, exploitability, steps, stoppedEarly: false };
}

/**
 * The contraction factor ρ in ‖π_{k+1} − π_k‖ ≈ C·ρ^k, by least squares on log step over the steps that are
 * still above float64 noise (skipping the first quarter, the transient). Undefined with fewer than 3 points.
 */
export function fitLinearRate(steps: number[]): { rate: number; r2: number; points: number } | undefined {
  const usable = steps
    .map((step, k) => [k, step] as const)
    .filter(([, step]) => step > 1e-12)
    .slice(Math.floor(steps.length / 4));
  if (usable.length < 3) return undefined;
  const fit = fitLine(
    usable.map(([k]) => k),
    usable.map(([, step]) => Math.log(step)),
  );
  return { rate: Math.exp(fit.slope), r2: fit.r2, points: usable.length };
}
