// The step loop both minimax processors share: advance the dynamics in short chunks, report progress after
// each chunk (the host throttles what it forwards), yield to the thread's event loop at most every 50 ms so
// a cancel is seen, and score the measures at step 0, every `reportEvery` steps and after the last step.
// MFL-ABR advances by whole outer iterations, so a report lands on the first step count at or past its mark.
import { cancellationPoint } from '../../lib/cancellation.js';
import { type LineChart, lineChartSpec } from '../../lib/svg-plot.js';
import type { ProcessorContext, ProcessorOutput } from '../processor.js';
import { plotArtifact } from './plot-artifact.js';

const CHUNK_STEPS = 10;
const YIELD_EVERY_MS = 50;

export interface SteppedDynamics {
  readonly steps: number;
  advance(untilStep: number): void;
}

export async function runWithReports(
  dynamics: SteppedDynamics,
  options: { steps: number; reportEvery: number },
  context: ProcessorContext,
  report: (step: number) => Record<string, number>,
): Promise<void> {
  let metrics = report(0);
  let nextReport = options.reportEvery;
  let lastYield = performance.now();
  while (dynamics.steps < options.steps) {
    dynamics.advance(Math.min(dynamics.steps + CHUNK_STEPS, nextReport, options.steps));
    if (dynamics.steps >= nextReport || dynamics.steps >= options.steps) {
      metrics = report(dynamics.steps);
      while (nextReport <= dynamics.steps) nextReport += options.reportEvery;
    }
    context.progress({
      fraction: Math.min(1, dynamics.steps / options.steps),
      message: `step ${dynamics.steps} of ${options.steps}`,
      metrics: { step: dynamics.steps, ...metrics },
    });
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await cancellationPoint(context.signal);
      lastYield = performance.now();
    }
  }
}

/** What every report scores: the NI error and the W1 distance of each player's measure to the equilibrium's. */
export interface ScoredReport {
  step: number;
  ni: number;
  w1_mu: number;
  w1_nu: number;
}

/**
 * NI and both W1 distances per report, with the floors they cannot go below at this N and grid: W1 between
 * the equilibrium and N of its own samples, and the NI of the binned equilibrium.
 */
export function convergenceChart(
  title: string,
  subtitle: string,
  reports: ScoredReport[],
  floors: { w1: { mu: number; nu: number }; ni: number },
): LineChart {
  const steps = reports.map((report) => report.step);
  return {
    title,
    subtitle,
    x: { title: 'Langevin step' },
    y: { title: 'NI error; W1 to the grid equilibrium (x units)', scale: 'auto' },
    series: [
      { name: 'NI error', x: steps, y: reports.map((report) => report.ni) },
      { name: 'W1(μ, μ*)', x: steps, y: reports.map((report) => report.w1_mu) },
      { name: 'W1(ν, ν*)', x: steps, y: reports.map((report) => report.w1_nu) },
    ],
    references: [
      { label: `W1 sampling floor of μ* ${floors.w1.mu.toPrecision(3)}`, axis: 'y', value: floors.w1.mu },
      { label: `W1 sampling floor of ν* ${floors.w1.nu.toPrecision(3)}`, axis: 'y', value: floors.w1.nu },
      { label: `NI of the binned equilibrium ${floors.ni.toPrecision(3)}`, axis: 'y', value: floors.ni },
    ],
  };
}

/** The result with its `minimax.json` artifact (every report and the histograms taken at each) and its plot. */
export async function withReportsArtifact(
  result: Record<string, unknown>,
  reports: unknown[],
  reportHistograms: unknown[],
  chart: LineChart,
): Promise<ProcessorOutput> {
  const convergence = await plotArtifact('convergence.svg', lineChartSpec(chart));
  return {
    result: { ...result, artifact: 'minimax.json', plots: [convergence.name] },
    artifacts: [
      {
        name: 'minimax.json',
        contentType: 'application/json',
        data: new TextEncoder().encode(JSON.stringify({ reports, histograms: reportHistograms })),
      },
      convergence,
    ],
  };
}
