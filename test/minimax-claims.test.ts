// Claims of docs/minimax.md that take several runs, checked by calling the processors directly (the job
// threads of minimax-jobs.test.ts run the same functions): MFL-ABR's NI floor shrinks with β, two-scale GDA at
// a finite τ converges exponentially in NI, and annealing lowers the unregularised NI below a fixed-τ run.
// Smaller N and fewer steps than the docs runs; the thresholds leave room for the particle noise seen there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../src/errors.js';
import { executeJob } from '../src/jobs/execute.js';
import type { Processor } from '../src/jobs/processor.js';
import { minimaxMfl } from '../src/jobs/processors/minimax-mfl.js';
import { minimaxTwoScaleGda } from '../src/jobs/processors/minimax-two-scale-gda.js';
import { plottedLines } from './helpers/svg.js';

type Report = Record<string, number>;
type Result = {
  reports: Report[];
  exponential_fit: { rate: number; r_squared: number; points: number };
  ground_truth: { initial: { residual: number; ni: number } };
  dimension: number;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

function directOutput(processor: Processor<never>, params: Record<string, unknown>, seed = 1) {
  return processor(params as never, {
    seed,
    progress: () => {},
    signal: new AbortController().signal,
    models: {} as never,
  });
}

async function direct(
  processor: Processor<never>,
  params: Record<string, unknown>,
  seed = 1,
): Promise<Result> {
  return (await directOutput(processor, params, seed)).result as Result;
}

describe('minimax claims', () => {
  it('MFL-ABR converges to an NI floor that shrinks with β (β = 1 oscillates, 0.5 less, 0.25 settles)', async () => {
    const floors: number[] = [];
    for (const beta of [1, 0.5, 0.25]) {
      const { reports } = await direct(minimaxMfl, {
        objective: { name: 'mm1d' },
        algorithm: { name: 'mfl-abr', inner: 50, beta },
        lambda: 0.1,
        particles: 500,
        h: 0.05,
        steps: 3000,
        report_every: 150,
      });
      floors.push(median(reports.slice(reports.length / 2).map((r) => r.ni as number)));
    }
    const [b1, b05, b025] = floors as [number, number, number];
    assert.ok(b1 > 2 * b05 && b05 > 2 * b025, `NI floors for β = 1, 0.5, 0.25: ${floors.join(', ')}`);
    // At N = 500 the particle floor of the NI is about 0.01–0.03 (seeds 1–5); β = 0.25 reaches it.
    assert.ok(b025 < 0.05);
  });

  const torus = { objective: { name: 'mm1d' }, eta: 2, h: 0.02 };

  it('two-scale GDA at τ = 0.3 converges exponentially in NI (fitted rate > 0.3, R² > 0.95)', async () => {
    const result = await direct(minimaxTwoScaleGda, {
      ...torus,
      tau: 0.3,
      particles: 3000,
      steps: 600,
      report_every: 10,
    });
    const { exponential_fit: fit, ground_truth: truth, reports } = result;
    assert.ok(truth.initial.residual < 1e-10 && Math.abs(truth.initial.ni) < 1e-12);
    assert.ok(fit.rate > 0.3, `rate ${fit.rate}`);
    assert.ok(fit.r_squared > 0.95, `R² ${fit.r_squared}`);
    assert.ok(fit.points >= 8);
    assert.ok((reports.at(-1)?.ni as number) < (reports[0]?.ni as number) / 20);
  });

  it('two-scale GDA draws NI and both W1 distances per report in convergence.svg', async () => {
    const output = await directOutput(minimaxTwoScaleGda, {
      ...torus,
      tau: 0.3,
      particles: 200,
      steps: 100,
      report_every: 10,
    });
    const result = output.result as Result & { plots: string[] };
    assert.deepEqual(result.plots, ['convergence.svg']);
    const plot = output.artifacts?.find((artifact) => artifact.name === 'convergence.svg');
    assert.equal(plot?.contentType, 'image/svg+xml');
    const lines = plottedLines(new TextDecoder().decode(plot?.data));
    const points = result.reports.length;
    assert.deepEqual(Object.fromEntries(lines), {
      'NI error': points,
      'W1(μ, μ*)': points,
      'W1(ν, ν*)': points,
    });
  });

  it('annealing τ_t = C/log(t + e) lowers the unregularised NI over time, below the fixed-τ run', async () => {
    const common = { ...torus, particles: 1000, steps: 3000, report_every: 200 };
    const annealed = await direct(minimaxTwoScaleGda, { ...common, annealing: { constant: 0.6 } });
    const fixed = await direct(minimaxTwoScaleGda, { ...common, tau: 0.6 });
    const unregularised = (result: Result) =>
      result.reports.slice(1).map((r) => r.ni_unregularised as number);
    const series = unregularised(annealed);
    const third = Math.floor(series.length / 3);
    assert.ok(
      mean(series.slice(-third)) < 0.8 * mean(series.slice(0, third)),
      `annealed ${series.join(', ')}`,
    );
    assert.ok(mean(series.slice(-third)) < 0.6 * mean(unregularised(fixed).slice(-third)));
    const taus = annealed.reports.map((r) => r.tau as number);
    assert.ok(taus.every((tau, i) => i === 0 || tau < (taus[i - 1] as number)));
    assert.ok(annealed.reports.every((r) => (r.ground_truth_residual as number) < 1e-10));
  });

  it('a processor given params the submit check would refuse fails for good (a 4xx AppError: no retry)', async () => {
    const params = {
      objective: { name: 'mm1d' },
      algorithm: { name: 'mfl-da' },
      lambda: 0.1,
      particles: 10,
      h: 1,
      steps: 10,
      report_every: 10,
    };
    await assert.rejects(
      direct(minimaxMfl, params),
      (error: Error) => error instanceof InvalidInputError && /\/body\/params\/h/.test(error.message),
    );
    // Run as a job (its own process), the failure is permanent: no retry could fix it.
    const outcome = await executeJob(
      'minimax.mfl_refused',
      { type: 'minimax.mfl', params, seed: 1, models: {} as never },
      {
        store: { put: async () => undefined },
        artifactLimit: 1024,
        cancelGraceMs: 5000,
        onProgress: () => undefined,
        signal: new AbortController().signal,
      },
    );
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && outcome.retryable, false);
  });

  it('two-scale GDA is reproducible under a seed, differs under another, and runs MM2D on the 2-D torus', async () => {
    const params = {
      objective: { name: 'mm2d' },
      tau: 0.5,
      eta: 4,
      h: 0.02,
      particles: 100,
      steps: 60,
      report_every: 20,
    };
    const first = await direct(minimaxTwoScaleGda, params, 3);
    const again = await direct(minimaxTwoScaleGda, params, 3);
    const other = await direct(minimaxTwoScaleGda, params, 4);
    assert.deepEqual(again.reports, first.reports);
    assert.notDeepEqual(other.reports, first.reports);
    assert.equal(first.dimension, 2);
    assert.equal(first.reports.length, 4);
  });
});
