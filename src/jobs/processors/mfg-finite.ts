// mfg.finite: one finite-horizon game solved by one algorithm; exploitability after every iteration
// (MFGLib's definition), the final policy and mean field, wall time. The full series, policy and mean field
// go to solution.json; the result carries them too while they are small.

import { cancellationPoint } from '../../lib/cancellation.js';
import { indexed, lineChartSpec } from '../../lib/svg-plot.js';
import { createGame } from '../../solvers/mfg/finite/envs/index.js';
import { stateMarginal } from '../../solvers/mfg/finite/game.js';
import type { MfgFiniteParams } from '../../solvers/mfg/finite/params.js';
import { solveFinite } from '../../solvers/mfg/finite/solve.js';
import type { Processor } from '../processor.js';
import { plotArtifact } from './plot-artifact.js';

/** Series and tables up to this many numbers are returned inline in the result. */
const INLINE_NUMBERS = 4096;
/** The thread yields (to see a cancel message) at most this often. */
const YIELD_EVERY_MS = 50;

function nested(values: Float64Array, ...shape: number[]): unknown {
  if (shape.length === 1) return Array.from(values);
  const [outer, ...inner] = shape as [number, ...number[]];
  const size = values.length / outer;
  return Array.from({ length: outer }, (_, i) => nested(values.subarray(i * size, (i + 1) * size), ...inner));
}

export const mfgFinite: Processor<MfgFiniteParams> = async (params, context) => {
  const game = createGame(params.env);
  const compat = params.env.name === 'crowd_modelling' && params.env.openspiel_compat === true;
  const started = performance.now();
  let lastYield = started;
  let best = { value: Infinity, iteration: 0 };
  const solution = await solveFinite(game, {
    algorithm: params.algorithm,
    iterations: params.iterations,
    atol: params.atol,
    rtol: params.rtol,
    ties: compat ? 'first' : 'uniform',
    signal: context.signal,
    onIteration: async (iteration, evaluation) => {
      if (evaluation.exploitability < best.value) best = { value: evaluation.exploitability, iteration };
      context.progress({
        fraction: iteration / params.iterations,
        message: `iteration ${iteration} of ${params.iterations}`,
        metrics: { exploitability: evaluation.exploitability, min_exploitability: best.value },
      });
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await cancellationPoint(context.signal);
        lastYield = performance.now();
      }
    },
  });
  const wallMs = performance.now() - started;
  const { horizon, states, actions } = game;
  const width = states * actions;
  const marginals = new Float64Array((horizon + 1) * states);
  for (let t = 0; t <= horizon; t++) {
    const joint = solution.final.environment.jointLaw.subarray(t * width, (t + 1) * width);
    marginals.set(stateMarginal(joint, states, actions), t * states);
  }
  const policy = nested(solution.final.policy, horizon + 1, states, actions);
  const meanField = nested(marginals, horizon + 1, states);
  const iterations = solution.exploitability.length - 1;
  const artifact = { exploitability: solution.exploitability, policy, mean_field: meanField };
  const convergence = await plotArtifact(
    'convergence.svg',
    lineChartSpec({
      title: 'Exploitability per iteration',
      subtitle: `${params.env.name}, ${params.algorithm.name.replaceAll('_', ' ')}`,
      x: { title: 'iteration' },
      y: { title: 'exploitability (reward units)', scale: 'auto' },
      series: [indexed('exploitability', solution.exploitability)],
    }),
  );
  return {
    result: {
      game: { name: params.env.name, horizon, states, actions, openspiel_compat: compat },
      algorithm: params.algorithm,
      iterations,
      stopped_early: solution.stoppedEarly,
      exploitability: solution.exploitability.length <= INLINE_NUMBERS ? solution.exploitability : undefined,
      final_exploitability: solution.exploitability.at(-1),
      min_exploitability: best,
      best_response_value: solution.final.bestResponseValue,
      policy_value: solution.final.policyValue,
      ...(solution.final.policy.length <= INLINE_NUMBERS ? { policy, mean_field: meanField } : {}),
      wall_ms: wallMs,
      ms_per_iteration: wallMs / (iterations + 1),
      artifact: 'solution.json',
      plots: [convergence.name],
    },
    artifacts: [
      {
        name: 'solution.json',
        contentType: 'application/json',
        data: new TextEncoder().encode(JSON.stringify(artifact)),
      },
      convergence,
    ],
  };
};
