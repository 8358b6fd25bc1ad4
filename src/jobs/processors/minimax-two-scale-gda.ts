// minimax.two-scale-gda: two-scale mean-field GDA (Lu 2023) on the torus with entropy regularisation, at a
// fixed temperature τ or annealed as τ_t = C / log(t + e). The ground truth is the grid equilibrium at the
// current temperature (solved once for a fixed τ; under annealing re-solved at every report, warm-started from
// the previous one). Every report has NI at the current temperature, the unregularised NI, circle W1 to the
// grid solution, L and L_τ; at a fixed τ the result also has the exponential rate fitted to the NI series.
import { deriveSeed, Random } from '../../lib/random.js';
import { fitExponentialDecay } from '../../solvers/minimax/exponential-fit.js';
import { torusGrid, uniformReference } from '../../solvers/minimax/grid.js';
import { createGridGame } from '../../solvers/minimax/grid-game.js';
import { type GridEquilibrium, solveGridEquilibrium } from '../../solvers/minimax/ground-truth.js';
import { niError } from '../../solvers/minimax/nikaido-isoda.js';
import { createObjective, gradientLipschitz } from '../../solvers/minimax/objectives.js';
import { type MinimaxTwoScaleParams, resolveTwoScaleParams } from '../../solvers/minimax/params.js';
import {
  binnedGrid,
  binnedParticles,
  histograms,
  type Score,
  type Scorer,
  samplingFloor,
  scoreParticles,
} from '../../solvers/minimax/score.js';
import { TwoScaleGda, temperatureAt } from '../../solvers/minimax/two-scale-gda.js';
import type { Processor } from '../processor.js';
import { convergenceChart, runWithReports, withReportsArtifact } from './minimax-loop.js';

type Report = { step: number; time: number; tau: number; ground_truth_residual: number } & Score;

function groundTruthSummary(
  game: ReturnType<typeof createGridGame>,
  equilibrium: GridEquilibrium,
  tau: number,
) {
  return {
    tau,
    residual: equilibrium.residual,
    fixed_point_residual: equilibrium.fixedPointResidual,
    iterations: equilibrium.iterations,
    damping: equilibrium.damping,
    converged: equilibrium.converged,
    ni: niError(game, equilibrium, tau),
  };
}

export const minimaxTwoScaleGda: Processor<MinimaxTwoScaleParams> = async (rawParams, context) => {
  const params = resolveTwoScaleParams(rawParams);
  const objective = createObjective(params.objective);
  const grid = torusGrid(objective.dimension, params.grid.cells);
  const reference = uniformReference(grid);
  const game = createGridGame(objective, grid, reference, reference);
  const settings = {
    objective,
    particles: params.particles,
    h: params.h,
    eta: params.eta,
    temperature: params.temperature,
  };
  const started = performance.now();
  const initialTau = temperatureAt(settings, 0);
  let equilibrium = solveGridEquilibrium(game, { temperature: initialTau });
  const initialGroundTruth = groundTruthSummary(game, equilibrium, initialTau);
  const groundTruthMs = performance.now() - started;
  const annealed = 'annealing' in params.temperature;
  const scorerAt = (tau: number): Scorer => ({
    game,
    equilibrium,
    temperature: tau,
    binsPerAxis: params.grid.bins,
  });
  const dynamics = new TwoScaleGda(settings, new Random(context.seed));
  const reports: Report[] = [];
  const reportHistograms: Array<{ step: number; mu: number[]; nu: number[] }> = [];
  let solveMs = 0;
  const runStarted = performance.now();
  await runWithReports(
    dynamics,
    { steps: params.steps, reportEvery: params.report_every },
    context,
    (step) => {
      const tau = temperatureAt(settings, step);
      if (annealed && step > 0) {
        const solveStarted = performance.now();
        equilibrium = solveGridEquilibrium(game, { temperature: tau, start: equilibrium });
        solveMs += performance.now() - solveStarted;
      }
      const scorer = scorerAt(tau);
      const record: Report = {
        step,
        time: step * params.h,
        tau,
        ground_truth_residual: equilibrium.residual,
        ...scoreParticles(scorer, dynamics.min, dynamics.max),
      };
      reports.push(record);
      reportHistograms.push({
        step,
        ...histograms(scorer, binnedParticles(scorer, dynamics.min, dynamics.max)),
      });
      return {
        ni: record.ni,
        ni_unregularised: record.ni_unregularised,
        tau,
        w1_mu: record.w1_mu,
        w1_nu: record.w1_nu,
      };
    },
  );
  const runMs = performance.now() - runStarted - solveMs;
  const finalTau = temperatureAt(settings, dynamics.steps);
  const scorer = scorerAt(finalTau);
  const lipschitz = gradientLipschitz(objective);
  const w1Floor = samplingFloor(scorer, params.particles, new Random(deriveSeed(context.seed, 1)));
  const niBinned = niError(game, binnedGrid(scorer, equilibrium), finalTau);
  const result = {
    objective: params.objective.name,
    dimension: objective.dimension,
    temperature: annealed
      ? {
          annealing: {
            constant: (params.temperature as { annealing: number }).annealing,
            final_tau: finalTau,
          },
        }
      : { tau: finalTau },
    eta: params.eta,
    particles: params.particles,
    h: params.h,
    steps: dynamics.steps,
    stability: { lipschitz, h_max: 1 / (Math.max(1, params.eta) * lipschitz) },
    ground_truth: {
      grid: {
        cells: params.grid.cells,
        bins: params.grid.bins,
        dimension: objective.dimension,
        cell_width: grid.cellWidth,
      },
      initial: initialGroundTruth,
      ...(annealed ? { final: groundTruthSummary(game, equilibrium, finalTau) } : {}),
      ni_binned: niBinned,
      wall_ms: groundTruthMs + solveMs,
    },
    w1_sampling_floor: w1Floor,
    exponential_fit: annealed
      ? undefined
      : fitExponentialDecay(
          reports.map((r) => r.time),
          reports.map((r) => r.ni),
        ),
    final: reports.at(-1),
    reports,
    histograms: {
      bins_per_axis: params.grid.bins,
      lower: grid.lower,
      bin_width: grid.cellWidth * (params.grid.cells / params.grid.bins),
      last_iterate: histograms(scorer, binnedParticles(scorer, dynamics.min, dynamics.max)),
      equilibrium: histograms(scorer, equilibrium),
    },
    wall_ms: performance.now() - started,
    particle_steps_per_second: (params.particles * dynamics.steps) / (runMs / 1000),
  };
  const temperature = annealed ? `τ annealed to ${finalTau.toPrecision(3)}` : `τ = ${finalTau}`;
  return withReportsArtifact(
    result,
    reports,
    reportHistograms,
    convergenceChart(
      'Two-scale GDA: NI error and W1 distances per report',
      `${params.objective.name}, N = ${params.particles}, η = ${params.eta}, h = ${params.h}, ${temperature}`,
      reports,
      { w1: w1Floor, ni: niBinned },
    ),
  );
};
