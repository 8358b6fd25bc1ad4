// The step loop both minimax processors share: advance the dynamics in short chunks, report progress after
// each chunk (the host throttles what it forwards), yield to the thread's event loop at most every 50 ms so
// a cancel is seen, and score the measures at step 0, every `reportEvery` steps and after the last step.
// MFL-ABR advances by whole outer iterations, so a report lands on the first step count at or past its mark.
import { cancellationPoint } from '../../lib/cancellation.js';
import type { ProcessorContext, ProcessorOutput } from '../processor.js';

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

/** The result with its `minimax.json` artifact: every report and the histograms taken at each. */
export function withReportsArtifact(
  result: Record<string, unknown>,
  reports: unknown[],
  reportHistograms: unknown[],
): ProcessorOutput {
  return {
    result: { ...result, artifact: 'minimax.json' },
    artifacts: [
      {
        name: 'minimax.json',
        contentType: 'application/json',
        data: new TextEncoder().encode(JSON.stringify({ reports, histograms: reportHistograms })),
      },
    ],
  };
}
