// minimax.mfl: MFL-DA, MFL-AG or MFL-ABR (Kim et al. 2024) on one bilinear game with KL regularisation to
// Gaussian references. The job first solves the regularised equilibrium on its grid (its residual is in the
// result), then runs the particles and scores them every report_every steps: NI on the grid, the three-point
// proxy, W1 to the grid solution, L and L_λ, and bin histograms (all reports' histograms in minimax.json).
// MFL-AG is scored on its averaged measure; its last iterate is scored too, under last_iterate.
import { deriveSeed, Random } from '../../lib/random.js';
import { boxGrid, gaussianReference } from '../../solvers/minimax/grid.js';
import { createGridGame } from '../../solvers/minimax/grid-game.js';
import { solveGridEquilibrium } from '../../solvers/minimax/ground-truth.js';
import { MflDynamics } from '../../solvers/minimax/mfl.js';
import { candidateNi, niError } from '../../solvers/minimax/nikaido-isoda.js';
import { createObjective, gradientLipschitz } from '../../solvers/minimax/objectives.js';
import { type MinimaxMflParams, resolveMflParams } from '../../solvers/minimax/params.js';
import {
  binnedGrid,
  binnedParticles,
  histograms,
  type Score,
  type Scorer,
  samplingFloor,
  scoreGridMeasures,
  scoreParticles,
} from '../../solvers/minimax/score.js';
import type { Processor } from '../processor.js';
import { convergenceChart, runWithReports, withReportsArtifact } from './minimax-loop.js';

type Report = { step: number; time: number; ni_three_point: number } & Score & {
    last_iterate?: Score & { ni_three_point: number };
  };

export const minimaxMfl: Processor<MinimaxMflParams> = async (rawParams, context) => {
  const params = resolveMflParams(rawParams);
  const objective = createObjective(params.objective);
  const grid = boxGrid(objective.dimension, params.grid.cells, params.grid.half_width);
  const game = createGridGame(
    objective,
    grid,
    gaussianReference(grid, params.reference_std.min_player),
    gaussianReference(grid, params.reference_std.max_player),
  );
  const started = performance.now();
  const equilibrium = solveGridEquilibrium(game, { temperature: params.lambda });
  const groundTruthMs = performance.now() - started;
  const scorer: Scorer = { game, equilibrium, temperature: params.lambda, binsPerAxis: params.grid.bins };
  const dynamics = new MflDynamics(
    {
      objective,
      algorithm: params.algorithm,
      lambda: params.lambda,
      referenceStd: { min: params.reference_std.min_player, max: params.reference_std.max_player },
      particles: params.particles,
      h: params.h,
      grid,
    },
    new Random(context.seed),
  );
  const reports: Report[] = [];
  const reportHistograms: Array<{
    step: number;
    mu: number[];
    nu: number[];
    last_iterate?: { mu: number[]; nu: number[] };
  }> = [];
  const runStarted = performance.now();
  await runWithReports(
    dynamics,
    { steps: params.steps, reportEvery: params.report_every },
    context,
    (step) => {
      const last = binnedParticles(scorer, dynamics.min, dynamics.max);
      const lastScore = scoreParticles(scorer, dynamics.min, dynamics.max);
      const averaged = dynamics.averaged();
      let record: Report;
      if (averaged === undefined) {
        record = {
          step,
          time: step * params.h,
          ...lastScore,
          ni_three_point: candidateNi(game, last, [equilibrium], params.lambda),
        };
        reportHistograms.push({ step, ...histograms(scorer, last) });
      } else {
        const averagedBinned = binnedGrid(scorer, averaged);
        record = {
          step,
          time: step * params.h,
          ...scoreGridMeasures(scorer, averaged),
          ni_three_point: candidateNi(game, averagedBinned, [last, equilibrium], params.lambda),
          last_iterate: {
            ...lastScore,
            ni_three_point: candidateNi(game, last, [averagedBinned, equilibrium], params.lambda),
          },
        };
        reportHistograms.push({
          step,
          ...histograms(scorer, averaged),
          last_iterate: histograms(scorer, last),
        });
      }
      reports.push(record);
      return { ni: record.ni, w1_mu: record.w1_mu, w1_nu: record.w1_nu };
    },
  );
  const runMs = performance.now() - runStarted;
  const lipschitz = gradientLipschitz(objective);
  const smallestStd = Math.min(params.reference_std.min_player, params.reference_std.max_player);
  const final = reports.at(-1) as Report;
  const averaged = dynamics.averaged();
  const binsPerAxis = params.grid.bins;
  const w1Floor = samplingFloor(scorer, params.particles, new Random(deriveSeed(context.seed, 1)));
  const niBinned = niError(game, binnedGrid(scorer, equilibrium), params.lambda);
  const result = {
    objective: params.objective.name,
    dimension: objective.dimension,
    algorithm: params.algorithm,
    lambda: params.lambda,
    reference_std: params.reference_std,
    particles: params.particles,
    h: params.h,
    steps: dynamics.steps,
    stability: { lipschitz, h_max: 1 / (lipschitz + params.lambda / smallestStd ** 2) },
    ground_truth: {
      grid: { ...params.grid, dimension: objective.dimension, cell_width: grid.cellWidth },
      residual: equilibrium.residual,
      fixed_point_residual: equilibrium.fixedPointResidual,
      iterations: equilibrium.iterations,
      damping: equilibrium.damping,
      converged: equilibrium.converged,
      ni: niError(game, equilibrium, params.lambda),
      ni_binned: niBinned,
      wall_ms: groundTruthMs,
    },
    w1_sampling_floor: w1Floor,
    scored_measure: averaged === undefined ? 'last iterate' : 'weighted average of past measures',
    final,
    reports,
    histograms: {
      bins_per_axis: binsPerAxis,
      lower: grid.lower,
      bin_width: grid.cellWidth * (params.grid.cells / binsPerAxis),
      last_iterate: histograms(scorer, binnedParticles(scorer, dynamics.min, dynamics.max)),
      ...(averaged === undefined ? {} : { averaged: histograms(scorer, averaged) }),
      equilibrium: histograms(scorer, equilibrium),
    },
    wall_ms: performance.now() - started,
    particle_steps_per_second: (params.particles * dynamics.steps) / (runMs / 1000),
  };
  const algorithm = params.algorithm.name.toUpperCase();
  return withReportsArtifact(
    result,
    reports,
    reportHistograms,
    convergenceChart(
      `${algorithm}: NI error and W1 distances per report`,
      `${params.objective.name}, N = ${params.particles}, λ = ${params.lambda}, h = ${params.h}; ${result.scored_measure}`,
      reports,
      { w1: w1Floor, ni: niBinned },
    ),
  );
};
