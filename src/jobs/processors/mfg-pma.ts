// mfg.pma: Policy Mirror Ascent on a stationary entropy-regularised game. `exact` reports exploitability
// and the policy step ‖π_{k+1} − π_k‖ per iteration with the fitted linear rate; `n_agent` reports, per
// epoch, the exploitability of the agents' mean policy, the spread between agents and the samples used.
// The full series go to solution.json as well.

import { cancellationPoint } from '../../lib/cancellation.js';
import { indexed, type LineChart, lineChartSpec } from '../../lib/svg-plot.js';
import { createStationaryGame } from '../../solvers/mfg/stationary/envs.js';
import { evaluateStationary } from '../../solvers/mfg/stationary/evaluation.js';
import { exactPma, fitLinearRate } from '../../solvers/mfg/stationary/exact-pma.js';
import type { StationaryGame } from '../../solvers/mfg/stationary/game.js';
import { agentSpread, meanPolicy, nAgentPma } from '../../solvers/mfg/stationary/n-agent-pma.js';
import type { MfgPmaParams } from '../../solvers/mfg/stationary/params.js';
import type { Processor, ProcessorContext, ProcessorOutput } from '../processor.js';
import { plotArtifact } from './plot-artifact.js';

const YIELD_EVERY_MS = 50;

function rows(values: Float64Array, width: number): number[][] {
  return Array.from({ length: values.length / width }, (_, i) =>
    Array.from(values.subarray(i * width, (i + 1) * width)),
  );
}

async function output(
  result: Record<string, unknown>,
  series: Record<string, unknown>,
  chart: LineChart,
): Promise<ProcessorOutput> {
  const convergence = await plotArtifact('convergence.svg', lineChartSpec(chart));
  return {
    result: { ...result, artifact: 'solution.json', plots: [convergence.name] },
    artifacts: [
      {
        name: 'solution.json',
        contentType: 'application/json',
        data: new TextEncoder().encode(JSON.stringify({ ...result, ...series })),
      },
      convergence,
    ],
  };
}

/** Series up to this length are returned inline in the result as well as in solution.json. */
const INLINE_SERIES = 4096;

async function runExact(
  game: StationaryGame,
  params: MfgPmaParams & { mode: { name: 'exact' } },
  context: ProcessorContext,
) {
  const { iterations, tolerance } = params.mode;
  let lastYield = performance.now();
  let best = Infinity;
  const run = await exactPma(game, {
    eta: params.eta,
    lambda: params.lambda,
    iterations,
    tolerance,
    onIteration: async (iteration, evaluation, step) => {
      best = Math.min(best, evaluation.exploitability);
      context.progress({
        fraction: iteration / iterations,
        message: `iteration ${iteration} of ${iterations}`,
        metrics: {
          exploitability: evaluation.exploitability,
          min_exploitability: best,
          ...(Number.isNaN(step) ? {} : { policy_step: step }),
        },
      });
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await cancellationPoint(context.signal);
        lastYield = performance.now();
      }
    },
  });
  const inline = run.exploitability.length <= INLINE_SERIES;
  return {
    summary: {
      iterations: run.steps.length,
      stopped_early: run.stoppedEarly,
      exploitability: inline ? run.exploitability : undefined,
      policy_steps: inline ? run.steps : undefined,
      final_exploitability: run.exploitability.at(-1),
      final_policy_step: run.steps.at(-1),
      linear_rate: {
        ...(fitLinearRate(run.steps) ?? { rate: null, r2: null, points: 0 }),
        // With exact Q the policy-part of the PMA map contracts by 1/(1 + ηλ) per step; the population
        // coupling can only slow it.
        policy_only_bound: 1 / (1 + params.eta * params.lambda),
      },
      policy: rows(run.policy, game.actions),
      mean_field: Array.from(run.evaluation.law.law),
      stationary_residual: run.evaluation.law.residual,
      best_response_value: run.evaluation.bestResponseValue,
      policy_value: run.evaluation.policyValue,
    },
    series: { exploitability: run.exploitability, policy_steps: run.steps },
    chart: {
      title: 'Exploitability and policy step per iteration',
      subtitle: `exact Policy Mirror Ascent, η = ${params.eta}, λ = ${params.lambda}`,
      x: { title: 'iteration' },
      y: { title: 'exploitability (reward units); policy step (L1)', scale: 'auto' },
      series: [
        indexed('exploitability', run.exploitability),
        { name: 'policy step ‖π(k+1) − π(k)‖', x: run.steps.map((_, i) => i + 1), y: run.steps },
      ],
    } satisfies LineChart,
  };
}

async function runNAgent(
  game: StationaryGame,
  params: MfgPmaParams & { mode: { name: 'n_agent' } },
  context: ProcessorContext,
) {
  const mode = params.mode;
  const exploitability: number[] = [];
  const spreadMean: number[] = [];
  const spreadMax: number[] = [];
  const samples: number[] = [];
  let mean: Float64Array = new Float64Array(0);
  let evaluation = evaluateStationary(
    game,
    new Float64Array(game.states * game.actions).fill(1 / game.actions),
    params.lambda,
  );
  const population = await nAgentPma(game, {
    agents: mode.agents,
    epochs: mode.epochs,
    stepsPerEpoch: mode.steps_per_epoch,
    eta: params.eta,
    lambda: params.lambda,
    rateScale: mode.td_rate_scale,
    ratePower: mode.td_rate_power,
    seed: context.seed,
    signal: context.signal,
    onEpoch: async (epoch, current) => {
      mean = meanPolicy(current.policies, mode.agents);
      evaluation = evaluateStationary(game, mean, params.lambda, evaluation.law.law);
      const spread = agentSpread(current.policies, mean, game.actions);
      exploitability.push(evaluation.exploitability);
      spreadMean.push(spread.mean);
      spreadMax.push(spread.max);
      samples.push(current.samples);
      context.progress({
        fraction: epoch / mode.epochs,
        message: `epoch ${epoch} of ${mode.epochs}`,
        metrics: {
          exploitability: evaluation.exploitability,
          spread_mean: spread.mean,
          samples: current.samples,
        },
      });
      await cancellationPoint(context.signal);
    },
  });
  // The floor: mean exploitability over the last quarter of the epochs (at least one).
  const tail = exploitability.slice(-Math.max(1, Math.floor(mode.epochs / 4)));
  const empirical = new Float64Array(game.states);
  for (const s of population.states) empirical[s] = (empirical[s] as number) + 1 / mode.agents;
  const inline = exploitability.length <= INLINE_SERIES;
  const series = { exploitability, spread_mean: spreadMean, spread_max: spreadMax, samples };
  const floor = tail.reduce((sum, value) => sum + value, 0) / tail.length;
  return {
    summary: {
      agents: mode.agents,
      epochs: mode.epochs,
      ...(inline ? series : {}),
      final_exploitability: exploitability.at(-1),
      floor,
      samples_per_agent: population.samples / mode.agents,
      total_samples: population.samples,
      mean_policy: rows(mean, game.actions),
      mean_field: Array.from(evaluation.law.law),
      final_empirical_law: Array.from(empirical),
    },
    series,
    chart: {
      title: "Exploitability of the agents' mean policy per epoch",
      subtitle: `${mode.agents} independent learners, η = ${params.eta}, λ = ${params.lambda}`,
      x: { title: 'epoch' },
      y: { title: 'exploitability (reward units)', scale: 'auto' },
      series: [{ name: 'exploitability', x: exploitability.map((_, i) => i + 1), y: exploitability }],
      references: [
        {
          label: `sampling floor (mean of the last quarter) ${floor.toPrecision(3)}`,
          axis: 'y',
          value: floor,
        },
      ],
    } satisfies LineChart,
  };
}

export const mfgPma: Processor<MfgPmaParams> = async (params, context) => {
  const game = createStationaryGame(params.env, params.discount);
  const started = performance.now();
  const { summary, series, chart } =
    params.mode.name === 'exact'
      ? await runExact(game, params as MfgPmaParams & { mode: { name: 'exact' } }, context)
      : await runNAgent(game, params as MfgPmaParams & { mode: { name: 'n_agent' } }, context);
  const wallMs = performance.now() - started;
  return output(
    {
      game: { name: params.env.name, states: game.states, actions: game.actions },
      mode: params.mode.name,
      discount: params.discount,
      lambda: params.lambda,
      eta: params.eta,
      ...summary,
      wall_ms: wallMs,
    },
    series,
    chart,
  );
};
