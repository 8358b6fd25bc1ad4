// mfg.graphex: a game on a sparse graph (a sampled separable power-law graphex or an uploaded edge list)
// solved by hybrid online mirror descent — core classes by mirror descent, periphery degrees by backward
// induction — then R seeded N-agent runs on the graph for the paper's Δμ. Progress reports the core and
// periphery exploitability of every iterate, then the simulated runs. The result holds the scalars, the
// per-degree table and the overall mean fields; solution.json adds the series, policies and per-part laws.

import { cancellationPoint } from '../../lib/cancellation.js';
import { indexed, lineChartSpec } from '../../lib/svg-plot.js';
import { coreLaws } from '../../solvers/mfg/graphex/core.js';
import { solveHybrid } from '../../solvers/mfg/graphex/hybrid.js';
import { measureDeltaMu } from '../../solvers/mfg/graphex/measure.js';
import type { MfgGraphexParams } from '../../solvers/mfg/graphex/params.js';
import { buildProblem } from '../../solvers/mfg/graphex/problem.js';
import type { Processor } from '../processor.js';
import { plotArtifact } from './plot-artifact.js';

/** The thread yields (to see a cancel message) at most this often. */
const YIELD_EVERY_MS = 50;
/** Share of the progress bar for mirror descent; the simulated runs take the rest. */
const SOLVE_SHARE = 0.9;
/** Series up to this many numbers are returned inline in the result. */
const INLINE_NUMBERS = 4096;

/** A flat array as nested arrays of the given shape (outermost first). */
function nested(values: ArrayLike<number>, ...shape: number[]): unknown {
  if (shape.length === 1) return Array.from(values);
  const [outer, ...inner] = shape as [number, ...number[]];
  const size = values.length / outer;
  return Array.from({ length: outer }, (_, i) =>
    nested(Array.prototype.slice.call(values, i * size, (i + 1) * size) as number[], ...inner),
  );
}

/** steps·S laws as [t][s]. */
const laws = (values: Float64Array, states: number) => nested(values, values.length / states, states);

export const mfgGraphex: Processor<MfgGraphexParams> = async (params, context) => {
  const started = performance.now();
  const problem = buildProblem(params, context.seed);
  const { game, graph, partition } = problem;
  const sampledMs = performance.now() - started;
  await cancellationPoint(context.signal);
  let lastYield = performance.now();
  const yieldSometimes = async () => {
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await cancellationPoint(context.signal);
      lastYield = performance.now();
    }
  };
  let best = { value: Infinity, iteration: 0 };
  const solveStarted = performance.now();
  const solution = await solveHybrid(game, partition, {
    iterations: params.iterations,
    step: params.step,
    peripheryPolicy: params.periphery_policy,
    signal: context.signal,
    onIteration: async (iteration, iterate) => {
      if (iterate.core.exploitability < best.value) best = { value: iterate.core.exploitability, iteration };
      context.progress({
        fraction: (SOLVE_SHARE * iteration) / params.iterations,
        message: `iteration ${iteration} of ${params.iterations}`,
        metrics: {
          core_exploitability: iterate.core.exploitability,
          min_core_exploitability: best.value,
          periphery_exploitability: iterate.peripheryExploitability,
        },
      });
      await yieldSometimes();
    },
  });
  const solveMs = performance.now() - solveStarted;
  const iterations = solution.coreExploitability.length - 1;
  const final = solution.final;
  const simulationStarted = performance.now();
  const measurement = await measureDeltaMu(problem, solution, params.runs, context.seed, async (run) => {
    context.progress({
      fraction: SOLVE_SHARE + ((1 - SOLVE_SHARE) * run) / params.runs,
      message: `simulation run ${run} of ${params.runs}`,
      metrics: {
        core_exploitability: final.core.exploitability,
        periphery_exploitability: final.peripheryExploitability,
      },
    });
    await yieldSometimes();
  });
  const simulationMs = performance.now() - simulationStarted;

  const { states, actions, horizon } = game;
  const classes = partition.structure.classes;
  const coreVertices = partition.classCounts.reduce((sum, count) => sum + count, 0);
  const peripheryVertices = partition.degreeCounts.reduce((sum, count) => sum + count, 0);
  const periphery = final.periphery.map((evaluation) => ({
    degree: evaluation.degree,
    vertices: partition.degreeCounts[evaluation.degree] as number,
    exploitability: evaluation.exploitability,
    best_response_value: evaluation.bestResponseValue,
    policy_value: evaluation.policyValue,
  }));
  const series = {
    core_exploitability: solution.coreExploitability,
    periphery_exploitability: solution.peripheryExploitability,
  };
  const inline = solution.coreExploitability.length * 2 <= INLINE_NUMBERS;
  const result = {
    game: { name: game.name, horizon, states: game.stateNames, actions },
    graph: {
      ...problem.origin,
      vertices: graph.vertices,
      edges: graph.edges,
      core_vertices: coreVertices,
      periphery_vertices: peripheryVertices,
      overflow_vertices: partition.overflow,
      core_class_vertices: Array.from(partition.classCounts),
    },
    core_classes: classes,
    max_degree: partition.maxDegree,
    periphery_policy: params.periphery_policy,
    iterations,
    ...(inline ? series : {}),
    final_core_exploitability: final.core.exploitability,
    min_core_exploitability: best,
    core_best_response_value: final.core.bestResponseValue,
    core_policy_value: final.core.policyValue,
    final_periphery_exploitability: final.peripheryExploitability,
    periphery,
    delta_mu: { ...measurement.mean, runs: params.runs, steps: measurement.steps },
    mean_field: {
      predicted: laws(measurement.predicted.overall, states),
      simulated: laws(measurement.simulated, states),
    },
    wall_ms: performance.now() - started,
    sample_ms: sampledMs,
    solve_ms: solveMs,
    ms_per_iteration: solveMs / (iterations + 1),
    simulation_ms: simulationMs,
    artifact: 'solution.json',
  };
  const artifact = {
    ...series,
    delta_mu_runs: measurement.runs,
    /** π_m(a | t, s) as [t][m][s][a]. */
    core_policy: nested(final.core.policy, horizon + 1, classes, states, actions),
    /** μ_m,t(s) as [t][m][s]. */
    core_class_laws: nested(
      coreLaws(game, partition.structure, final.core.environment.jointLaw),
      horizon + 1,
      classes,
      states,
    ),
    periphery_field: laws(final.peripheryField, states),
    periphery: final.periphery.map((evaluation, i) => {
      const neighbourhood = solution.models[i]?.neighbourhood;
      const count = neighbourhood?.count ?? 0;
      return {
        degree: evaluation.degree,
        law: laws(evaluation.law, states),
        /** Neighbour counts per state of each composition g, the order of the policy's g axis. */
        compositions: nested(neighbourhood?.counts ?? [], count, states),
        /** π_k(a | t, s, g) as [t][s][g][a]. */
        policy: nested(evaluation.policy, horizon + 1, states, count, actions),
      };
    }),
    predicted: {
      overall: laws(measurement.predicted.overall, states),
      core: laws(measurement.predicted.core, states),
      periphery: laws(measurement.predicted.periphery, states),
    },
    simulated_overall: laws(measurement.simulated, states),
  };
  const convergence = await plotArtifact(
    'convergence.svg',
    lineChartSpec({
      title: 'Exploitability per iteration, core and periphery',
      subtitle: `${game.name}, ${graph.vertices} vertices (${problem.origin.kind})`,
      x: { title: 'iteration' },
      y: { title: 'exploitability (reward units)', scale: 'auto' },
      series: [
        indexed('core', solution.coreExploitability),
        indexed('periphery', solution.peripheryExploitability),
      ],
    }),
  );
  return {
    result: { ...result, plots: [convergence.name] },
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
