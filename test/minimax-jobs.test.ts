// The minimax jobs through the API (inline queue, job processes), asserting claims of docs/minimax.md at a
// smaller scale than the docs runs: the grid equilibrium's residual and NI, MFL-DA's W1, MFL-AG's averaged
// measure converging while its last iterate does not; plus seeds, progress, cancellation and every bad input
// refused at submit. The other claims run the processors directly in minimax-claims.test.ts (a job process
// costs about two seconds to start here).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { minimaxMfl } from '../src/jobs/processors/minimax-mfl.js';
import type { MinimaxMflParams } from '../src/solvers/minimax/params.js';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { assertJobPlot } from './helpers/svg.js';
import { waitFor } from './helpers/wait.js';

type Report = Record<string, number> & { last_iterate?: Record<string, number> };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

describe('minimax jobs', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const { submit, job, finished, run, assertRefused } = jobApi(() => app, 120_000);
  const mfl = (algorithm: Record<string, unknown>, extra: Record<string, unknown> = {}, seed = 1) =>
    run('minimax.mfl', { objective: { name: 'mm1d' }, algorithm, ...extra }, seed);

  it('MFL-DA on MM1D: the grid equilibrium has residual < 1e-10 and NI ≈ 0, and the particles reach W1 < 0.05', async () => {
    const done = await mfl({ name: 'mfl-da' }, { particles: 4000, h: 0.1, steps: 1200, report_every: 100 });
    const result = done.result;
    assert.ok(result.ground_truth.converged);
    assert.ok(result.ground_truth.residual < 1e-10, `residual ${result.ground_truth.residual}`);
    assert.ok(Math.abs(result.ground_truth.ni) < 1e-12, `grid NI ${result.ground_truth.ni}`);
    const reports: Report[] = result.reports;
    assert.equal(reports.length, 13);
    assert.equal(reports[0]?.step, 0);
    const tail = reports.slice(-5);
    const w1 = tail.map((r) => Math.max(r.w1_mu as number, r.w1_nu as number));
    assert.ok(median(w1) < 0.05, `W1 over the last reports ${w1.join(', ')}`);
    assert.ok((reports[0]?.w1_mu as number) > 0.5, 'the start is far from the equilibrium');
    // NI falls from the start to near the binning floor; the three-point proxy never exceeds the true NI.
    assert.ok((reports[0]?.ni as number) > 0.5);
    assert.ok(median(tail.map((r) => r.ni as number)) < 0.01);
    for (const r of reports) assert.ok((r.ni_three_point as number) <= (r.ni as number) + 1e-12);
    assert.equal(result.histograms.last_iterate.mu.length, 48);
    const artifact = (await app.inject(`/v1/jobs/${done.id}/artifacts/minimax.json`)).json();
    assert.equal(artifact.histograms.length, reports.length);
    const plot = await assertJobPlot(app, done, 'convergence.svg', {
      'NI error': reports.length,
      'W1(μ, μ*)': reports.length,
      'W1(ν, ν*)': reports.length,
    });
    assert.match(plot, /W1 sampling floor of μ\*/);
  });

  it("MFL-AG: the averaged measure's W1 and NI fall over the run while the last iterate keeps moving", async () => {
    const done = await mfl(
      { name: 'mfl-ag', r: 0.5 },
      { particles: 800, h: 0.1, steps: 6000, report_every: 500 },
    );
    const reports: Report[] = done.result.reports.slice(1);
    const w1 = reports.map((r) => ((r.w1_mu as number) + (r.w1_nu as number)) / 2);
    const ni = reports.map((r) => r.ni as number);
    const third = Math.floor(reports.length / 3);
    assert.ok(
      mean(w1.slice(-third)) < 0.6 * mean(w1.slice(0, third)),
      `averaged W1 ${w1.map((v) => v.toFixed(3))}`,
    );
    assert.ok(
      mean(ni.slice(-third)) < 0.5 * mean(ni.slice(0, third)),
      `averaged NI ${ni.map((v) => v.toFixed(3))}`,
    );
    const last = reports.map((r) => r.last_iterate as Record<string, number>);
    assert.ok(last.every((r) => typeof r.ni === 'number' && typeof r.w1_mu === 'number'));
    // The last iterate is reported as it is: it ends well above the averaged measure's NI.
    assert.ok(mean(last.slice(-third).map((r) => r.ni as number)) > 2 * mean(ni.slice(-third)));
    assert.equal(done.result.scored_measure, 'weighted average of past measures');
  });

  it('is reproducible under a seed: the job equals a direct run with its seed and differs under another', async () => {
    const params = {
      objective: { name: 'mm1d' },
      algorithm: { name: 'mfl-abr', inner: 10, beta: 0.25 },
      lambda: 0.1,
      particles: 200,
      h: 0.05,
      steps: 200,
      report_every: 50,
    };
    const viaApi = (await run('minimax.mfl', params, 7)).result;
    const direct = (seed: number) =>
      minimaxMfl(params as MinimaxMflParams, {
        seed,
        progress: () => {},
        signal: new AbortController().signal,
        models: {} as never,
      });
    const same = (await direct(7)).result as typeof viaApi;
    const other = (await direct(8)).result as typeof viaApi;
    assert.deepEqual(viaApi.reports, same.reports);
    assert.deepEqual(viaApi.histograms, same.histograms);
    assert.notDeepEqual(other.reports, viaApi.reports);
  });

  it('reports progress and cancels a long run', async () => {
    const submitted = await submit('minimax.mfl', {
      objective: { name: 'mm1d' },
      algorithm: { name: 'mfl-da' },
      particles: 20_000,
      steps: 5000,
      report_every: 1000,
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const running = await waitFor('progress past step 0', async () => {
      const current = await job(id);
      return current.progress?.metrics?.step > 0 ? current : undefined;
    });
    assert.equal(running.state, 'running');
    assert.ok(running.progress.fraction < 1);
    assert.ok(typeof running.progress.metrics.ni === 'number');
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode, 200);
    assert.equal((await finished(id)).state, 'cancelled');
  });

  const mm1d = { objective: { name: 'mm1d' }, algorithm: { name: 'mfl-da' } };
  const torus = { objective: { name: 'mm1d' }, tau: 0.1 };
  const bad: Array<[string, string, Record<string, unknown>, string]> = [
    [
      'an unknown objective',
      'minimax.mfl',
      { ...mm1d, objective: { name: 'rastrigin' } },
      '/body/params/objective',
    ],
    [
      'an unknown algorithm',
      'minimax.mfl',
      { ...mm1d, algorithm: { name: 'mfl-sgd' } },
      '/body/params/algorithm',
    ],
    ['λ = 0', 'minimax.mfl', { ...mm1d, lambda: 0 }, '/body/params/lambda'],
    ['a negative λ', 'minimax.mfl', { ...mm1d, lambda: -0.1 }, '/body/params/lambda'],
    ['h = 0', 'minimax.mfl', { ...mm1d, h: 0 }, '/body/params/h'],
    ['an unstable h', 'minimax.mfl', { ...mm1d, h: 0.5 }, '/body/params/h'],
    ['too many particles', 'minimax.mfl', { ...mm1d, particles: 20_001 }, '/body/params/particles'],
    ['too many steps', 'minimax.mfl', { ...mm1d, steps: 200_001 }, '/body/params/steps'],
    [
      'particle-steps over the limit',
      'minimax.mfl',
      { ...mm1d, particles: 20_000, steps: 10_000 },
      '/body/params/steps',
    ],
    [
      'too many reports',
      'minimax.mfl',
      { ...mm1d, steps: 20_000, report_every: 10 },
      '/body/params/report_every',
    ],
    [
      'β = 0',
      'minimax.mfl',
      { ...mm1d, algorithm: { name: 'mfl-abr', beta: 0 } },
      '/body/params/algorithm/beta',
    ],
    [
      'bins that do not divide the cells',
      'minimax.mfl',
      { ...mm1d, grid: { cells: 1200, bins: 7 } },
      '/body/params/grid/bins',
    ],
    [
      'a frequency of the wrong dimension',
      'minimax.mfl',
      {
        ...mm1d,
        objective: {
          name: 'features',
          dimension: 2,
          frequencies: [[1]],
          coefficients: [
            [0, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ],
        },
      },
      '/body/params/objective/frequencies/0',
    ],
    [
      'a coefficient matrix of the wrong size',
      'minimax.mfl',
      {
        ...mm1d,
        objective: {
          name: 'features',
          dimension: 1,
          frequencies: [[1]],
          coefficients: [
            [0, 1],
            [1, 0],
          ],
        },
      },
      '/body/params/objective/coefficients',
    ],
    [
      'a coefficient row of the wrong length',
      'minimax.mfl',
      {
        ...mm1d,
        objective: {
          name: 'features',
          dimension: 1,
          frequencies: [[1]],
          coefficients: [
            [0, 0, 0],
            [0, 1],
            [0, 0, 1],
          ],
        },
      },
      '/body/params/objective/coefficients/1',
    ],
    ['an unknown field', 'minimax.mfl', { ...mm1d, temperature: 1 }, '/body/params/temperature'],
    ['τ = 0', 'minimax.two-scale-gda', { ...torus, tau: 0 }, '/body/params/tau'],
    ['neither τ nor annealing', 'minimax.two-scale-gda', { objective: { name: 'mm1d' } }, '/body/params/tau'],
    [
      'both τ and annealing',
      'minimax.two-scale-gda',
      { ...torus, annealing: { constant: 1 } },
      '/body/params/annealing',
    ],
    [
      'an unstable h for the scale ratio',
      'minimax.two-scale-gda',
      { ...torus, eta: 10, h: 0.05 },
      '/body/params/h',
    ],
    ['a negative h', 'minimax.two-scale-gda', { ...torus, h: -0.01 }, '/body/params/h'],
    [
      'a non-integer frequency on the torus',
      'minimax.two-scale-gda',
      {
        ...torus,
        objective: {
          name: 'features',
          dimension: 1,
          frequencies: [[1.5]],
          coefficients: [
            [0, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ],
        },
      },
      '/body/params/objective/frequencies/0',
    ],
    [
      'an unknown objective',
      'minimax.two-scale-gda',
      { ...torus, objective: { name: 'mm3d' } },
      '/body/params/objective',
    ],
  ];
  for (const [what, type, params, path] of bad) {
    it(`${type} refuses ${what} with 400 naming ${path}`, () => assertRefused(type, params, path));
  }
});
