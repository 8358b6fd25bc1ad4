// minimax.markov-game: MFL-DA, MFL-AG or MFL-ABR on a KL-regularised two-player zero-sum Markov game with
// continuous actions, the application of Kim et al. (2024). The job first solves the game's equilibrium on
// its grid by Shapley's value iteration (its residuals and its own Nash gap are in the result), then runs the
// particles of every state, updating the values every steps_per_round steps, and scores the strategies
// every report_every steps by the exact Nash gap (dynamic programming on the grid) and by the distance of the
// values to the equilibrium's. MFL-AG is scored on its averaged measures, its last iterate beside them.
// Floors: the gap of the equilibrium binned as the particles are, and of N of its own samples binned so.
import { deriveSeed, Random } from '../../lib/random.js';
import { lineChartSpec } from '../../lib/svg-plot.js';
import { boxGrid, gaussianReference } from '../../solvers/minimax/grid.js';
import type { GridGame } from '../../solvers/minimax/grid-game.js';
import { coarsen, particleMeasure } from '../../solvers/minimax/histogram.js';
import {
  createMarkovStages,
  type MarkovStages,
  nashGap,
  solveMarkovEquilibrium,
} from '../../solvers/minimax/markov-game-values.js';
import { MarkovMfl } from '../../solvers/minimax/markov-mfl.js';
import { type MinimaxMarkovGameParams, resolveMarkovParams } from '../../solvers/minimax/markov-params.js';
import type { GridMeasurePair } from '../../solvers/minimax/nikaido-isoda.js';
import { sampleGrid } from '../../solvers/minimax/score.js';
import type { Processor } from '../processor.js';
import { runWithReports } from './minimax-loop.js';
import { plotArtifact } from './plot-artifact.js';

const FLOOR_DRAWS = 4;

interface Report {
  step: number;
  round: number;
  nash_gap: number;
  nash_gap_per_state: number[];
  /** sup_s |V(s) − V*(s)| of the values the stage games are built from. */
  value_error: number;
  values: number[];
  last_iterate?: { nash_gap: number };
}

function supDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++)
    largest = Math.max(largest, Math.abs((a[i] as number) - (b[i] as number)));
  return largest;
}

/** The mean Nash gap of `count` samples per player and state of `policies`, binned as the particles are. */
function samplingFloor(
  stages: MarkovStages,
  policies: GridMeasurePair[],
  options: { count: number; bins: number; temperature: number },
  random: Random,
): number {
  const { grid } = stages.grids[0] as GridGame;
  const binnedSample = (weights: Float64Array) =>
    coarsen(
      grid,
      particleMeasure(grid, sampleGrid(grid, weights, options.count, random), options.count),
      options.bins,
    );
  let sum = 0;
  for (let draw = 0; draw < FLOOR_DRAWS; draw++) {
    const sampled = policies.map((pair) => ({ min: binnedSample(pair.min), max: binnedSample(pair.max) }));
    sum += nashGap(stages, sampled, options.temperature).gap;
  }
  return sum / FLOOR_DRAWS;
}

export const minimaxMarkovGame: Processor<MinimaxMarkovGameParams> = async (rawParams, context) => {
  const params = resolveMarkovParams(rawParams);
  const { game, lambda } = params;
  const grid = boxGrid(1, params.grid.cells, params.grid.half_width);
  const reference = gaussianReference(grid, params.reference_std);
  const stages = createMarkovStages(game, grid, reference, reference);
  const started = performance.now();
  const equilibrium = solveMarkovEquilibrium(stages, lambda);
  const groundTruthMs = performance.now() - started;
  const binned = equilibrium.policies.map((pair) => ({
    min: coarsen(grid, pair.min, params.grid.bins),
    max: coarsen(grid, pair.max, params.grid.bins),
  }));
  const floors = {
    binned: nashGap(stages, binned, lambda).gap,
    sampling: samplingFloor(
      stages,
      equilibrium.policies,
      { count: params.particles, bins: params.grid.bins, temperature: lambda },
      new Random(deriveSeed(context.seed, 1)),
    ),
  };
  const run = new MarkovMfl(
    {
      game,
      algorithm: params.algorithm,
      lambda,
      referenceStd: params.reference_std,
      particles: params.particles,
      h: params.h,
      stepsPerRound: params.steps_per_round,
      grid,
      reference,
      bins: params.grid.bins,
    },
    new Random(context.seed),
  );
  const averaging = params.algorithm.name === 'mfl-ag';
  const reports: Report[] = [];
  const runStarted = performance.now();
  await runWithReports(run, { steps: params.steps, reportEvery: params.report_every }, context, (step) => {
    const gap = nashGap(stages, run.strategies(), lambda);
    const report: Report = {
      step,
      round: run.rounds,
      nash_gap: gap.gap,
      nash_gap_per_state: gap.perState,
      value_error: supDistance(run.values, equilibrium.values),
      values: Array.from(run.values),
      ...(averaging ? { last_iterate: { nash_gap: nashGap(stages, run.lastIterate(), lambda).gap } } : {}),
    };
    reports.push(report);
    return { nash_gap: report.nash_gap, value_error: report.value_error };
  });
  const runMs = performance.now() - runStarted;
  const scored = averaging ? 'weighted average of past measures' : 'last iterate';
  const steps = reports.map((report) => report.step);
  const convergence = await plotArtifact(
    'convergence.svg',
    lineChartSpec({
      title: `${params.algorithm.name.toUpperCase()} on ${game.name}: exact Nash gap per report`,
      subtitle: `γ = ${game.discount}, λ = ${lambda}, N = ${params.particles} per player and state, h = ${params.h}; ${scored}`,
      x: { title: 'Langevin step (in every state)' },
      y: { title: 'Nash gap; sup |V − V*|', scale: 'auto' },
      series: [
        { name: 'Nash gap', x: steps, y: reports.map((report) => report.nash_gap) },
        ...(averaging
          ? [
              {
                name: 'Nash gap, last iterate',
                x: steps,
                y: reports.map((report) => report.last_iterate?.nash_gap ?? Number.NaN),
              },
            ]
          : []),
        { name: 'sup |V − V*|', x: steps, y: reports.map((report) => report.value_error) },
      ],
      references: [
        {
          label: `gap of the binned equilibrium ${floors.binned.toPrecision(3)}`,
          axis: 'y',
          value: floors.binned,
        },
        {
          label: `gap of ${params.particles} equilibrium samples ${floors.sampling.toPrecision(3)}`,
          axis: 'y',
          value: floors.sampling,
        },
      ],
    }),
  );
  const result = {
    game: { name: game.name, states: game.states, discount: game.discount },
    algorithm: params.algorithm,
    lambda,
    reference_std: params.reference_std,
    particles: params.particles,
    h: params.h,
    steps: run.steps,
    steps_per_round: params.steps_per_round,
    rounds: run.rounds,
    stability: {
      lipschitz: params.lipschitz,
      h_max: 1 / (params.lipschitz + lambda / params.reference_std ** 2),
    },
    ground_truth: {
      grid: { ...params.grid, cell_width: grid.cellWidth },
      values: Array.from(equilibrium.values),
      iterations: equilibrium.iterations,
      residual: equilibrium.residual,
      stage_residual: equilibrium.stageResidual,
      converged: equilibrium.converged,
      nash_gap: nashGap(stages, equilibrium.policies, lambda).gap,
      wall_ms: groundTruthMs,
    },
    floors,
    scored_measure: scored,
    final: reports.at(-1) as Report,
    reports,
    plots: [convergence.name],
    wall_ms: performance.now() - started,
    particle_steps_per_second: (params.particles * run.steps * game.states) / (runMs / 1000),
  };
  return { result, artifacts: [convergence] };
};
