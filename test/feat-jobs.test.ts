// The feat.free-energy job through the API (inline queue, job processes): estimates with CIs against the exact
// ΔF, the baselines, evaluations counted, seed reproducibility, progress per integration step and direction,
// cancellation, MCMC end states, and every bad input refused at submit with its field path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, startApp, stopApp } from './helpers/app.js';
import { assertJobPlot } from './helpers/svg.js';
import { waitFor } from './helpers/wait.js';

const GAUSSIANS = {
  name: 'gaussian',
  dim: 2,
  a: {
    mean: [0, 0],
    covariance: [
      [1, 0.5],
      [0.5, 1],
    ],
  },
  b: {
    mean: [3, -1],
    covariance: [
      [0.25, 0],
      [0, 0.5],
    ],
    offset: 1,
  },
};

describe('feat.free-energy job', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const submit = (params: Record<string, unknown>, seed = 1) =>
    app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'feat.free-energy', params, seed } });
  const job = async (id: string) => (await app.inject(`/v1/jobs/${id}`)).json();
  const finished = (id: string) =>
    waitFor(
      `job ${id}`,
      async () => {
        const current = await job(id);
        return ['completed', 'failed', 'cancelled'].includes(current.state) ? current : undefined;
      },
      60_000,
    );
  const run = async (params: Record<string, unknown>, seed = 1) => {
    const submitted = await submit(params, seed);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    return done;
  };

  it('estimates a Gaussian ΔF with the exact transport, its CIs, ESS, histograms and the baselines', async () => {
    const params = {
      system: GAUSSIANS,
      transport: { kind: 'analytic' },
      n_forward: 400,
      n_reverse: 400,
      steps: 50,
    };
    const done = await run(params);
    const result = done.result;
    const exact = 0.5 * Math.log(0.75 / 0.125) + 1;
    assert.ok(Math.abs(result.reference.delta_f - exact) < 1e-12);
    assert.equal(result.reference.kind, 'analytic');
    for (const name of ['forward', 'reverse', 'bar']) {
      const estimate = result.estimates[name];
      assert.ok(estimate.ci[0] < estimate.delta_f && estimate.delta_f < estimate.ci[1]);
      assert.ok(
        Math.abs(estimate.error) < 5 * estimate.std_error + 1e-3,
        `${name}: ${JSON.stringify(estimate)}`,
      );
    }
    assert.equal(result.bounds_bracket_reference, true);
    assert.ok(result.ess.forward_fraction > 0.5 && result.ess.forward_fraction <= 1);
    assert.equal(
      result.work.histograms.forward.reduce((a: number, b: number) => a + b, 0),
      400,
    );
    assert.ok(result.work.overlap > 0.5, `overlap ${result.work.overlap}`);
    assert.equal(result.evaluations.field, 2 * 400 * 51);
    assert.equal(result.end_state_sampling.a, 'exact');
    const baselines = result.baselines;
    for (const name of ['fep_forward', 'fep_reverse', 'bar_equilibrium', 'ais_forward', 'ais_bar', 'ti']) {
      assert.ok(Number.isFinite(baselines[name].delta_f), name);
      assert.equal(baselines[name].ci.length, 2);
    }
    assert.equal(baselines.fep_forward.samples, 400);
    assert.ok(Math.abs(baselines.ais_bar.error) < 0.3, JSON.stringify(baselines.ais_bar));
    assert.ok(result.wall_ms.total > 0);
    const artifact = (await app.inject(`/v1/jobs/${done.id}/artifacts/feat.json`)).json();
    assert.equal(artifact.log_weights.forward.length, 400);
    assert.equal(artifact.estimates.bar.delta_f, result.estimates.bar.delta_f);
    await assertJobPlot(app, done, 'convergence.svg', {
      'forward escorted Jarzynski': artifact.log_weights.forward.length,
      'reverse escorted Jarzynski': artifact.log_weights.reverse.length,
    });
    const work = await assertJobPlot(app, done, 'work.svg', {});
    // One bar per bin and direction, and the estimate, its interval and the exact ΔF marked.
    assert.equal(
      work.match(/aria-roledescription="rect mark"/g)?.length,
      2 * result.work.histograms.forward.length + 1,
    );
    assert.match(work, /BAR estimate/);
    assert.match(work, /ΔF analytic/);
  });

  it('is reproducible under a seed and differs across seeds', async () => {
    const params = {
      system: { name: 'gmm', dim: 3 },
      transport: { kind: 'none' },
      n_forward: 100,
      n_reverse: 100,
      steps: 20,
      eps: 0.1,
      baselines: { enabled: false },
    };
    const first = (await run(params, 7)).result;
    const second = (await run(params, 7)).result;
    const other = (await run(params, 8)).result;
    assert.deepEqual(first.estimates, second.estimates);
    assert.deepEqual(first.work.histograms, second.work.histograms);
    assert.notEqual(first.estimates.bar.delta_f, other.estimates.bar.delta_f);
    assert.equal(first.baselines, null);
    assert.equal(first.reference.delta_f, 2);
  });

  it('samples φ⁴ umbrella windows by MALA and estimates ΔF = 0 by symmetry', async () => {
    const done = await run({
      system: { name: 'phi4_umbrella', side: 3 },
      transport: { kind: 'none' },
      n_forward: 200,
      n_reverse: 200,
      steps: 50,
      eps: 0.5,
      mcmc: { steps: 200 },
      baselines: { ti_windows: 4 },
    });
    const result = done.result;
    assert.deepEqual(result.reference, { delta_f: 0, kind: 'symmetry' });
    assert.ok(result.end_state_sampling.a.acceptance > 0.3, JSON.stringify(result.end_state_sampling));
    assert.ok(result.evaluations.end_state_sampling >= 2 * 200 * 200);
    const bar = result.estimates.bar;
    assert.ok(Math.abs(bar.delta_f) < 5 * bar.std_error + 0.05, JSON.stringify(bar));
  });

  it('reports progress per integration step and direction, and cancels', async () => {
    const submitted = await submit({
      system: { name: 'many_well', dim: 32 },
      transport: { kind: 'none' },
      n_forward: 10_000,
      n_reverse: 10_000,
      steps: 2000,
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const running = await waitFor('forward progress', async () => {
      const current = await job(id);
      return /forward paths: step \d+ of 2000/.test(current.progress?.message ?? '') ? current : undefined;
    });
    assert.equal(running.state, 'running');
    assert.ok(running.progress.fraction > 0 && running.progress.fraction < 0.5);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode, 200);
    assert.equal((await finished(id)).state, 'cancelled');
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      'an unknown system',
      { system: { name: 'lennard_jones' }, transport: { kind: 'none' } },
      '/body/params/system',
    ],
    ['an unknown transport', { system: GAUSSIANS, transport: { kind: 'magic' } }, '/body/params/transport'],
    [
      'a covariance that is not positive definite',
      {
        system: {
          ...GAUSSIANS,
          a: {
            covariance: [
              [1, 2],
              [2, 1],
            ],
          },
        },
        transport: { kind: 'none' },
      },
      '/body/params/system/a/covariance',
    ],
    [
      'a covariance that is not symmetric',
      {
        system: {
          ...GAUSSIANS,
          b: {
            covariance: [
              [1, 0.5],
              [0, 1],
            ],
          },
        },
        transport: { kind: 'none' },
      },
      '/body/params/system/b/covariance',
    ],
    [
      'a covariance of the wrong size',
      { system: { ...GAUSSIANS, a: { covariance: [[1]] } }, transport: { kind: 'none' } },
      '/body/params/system/a/covariance',
    ],
    [
      'a mean of the wrong length',
      { system: { ...GAUSSIANS, a: { mean: [1, 2, 3] } }, transport: { kind: 'none' } },
      '/body/params/system/a/mean',
    ],
    [
      'an odd ManyWell dimension',
      { system: { name: 'many_well', dim: 5 }, transport: { kind: 'none' } },
      '/body/params/system/dim',
    ],
    ['ε = 0', { system: GAUSSIANS, transport: { kind: 'none' }, eps: 0 }, '/body/params/eps'],
    ['ε < 0', { system: GAUSSIANS, transport: { kind: 'none' }, eps: -0.1 }, '/body/params/eps'],
    [
      'too many forward paths',
      { system: GAUSSIANS, transport: { kind: 'none' }, n_forward: 20_001 },
      '/body/params/n_forward',
    ],
    [
      'too many reverse paths',
      { system: GAUSSIANS, transport: { kind: 'none' }, n_reverse: 1e6 },
      '/body/params/n_reverse',
    ],
    ['too many steps', { system: GAUSSIANS, transport: { kind: 'none' }, steps: 2001 }, '/body/params/steps'],
    [
      'path work over the limit',
      {
        system: { name: 'gmm', dim: 100 },
        transport: { kind: 'none' },
        n_forward: 20_000,
        n_reverse: 20_000,
        steps: 2000,
      },
      '/body/params/steps',
    ],
    [
      'MCMC work over the limit',
      {
        system: { name: 'phi4_umbrella', side: 16 },
        transport: { kind: 'none' },
        n_forward: 20_000,
        mcmc: { steps: 20_000 },
      },
      '/body/params/mcmc/steps',
    ],
    [
      'the analytic transport between non-Gaussian states',
      { system: { name: 'gmm' }, transport: { kind: 'analytic' } },
      '/body/params/transport/kind',
    ],
    [
      'a model that is not served',
      { system: { name: 'gmm' }, transport: { kind: 'learned', model: 'no-such-model' } },
      '/body/params/transport/model',
    ],
    [
      'a model that is not a FEAT transport',
      { system: { name: 'gmm' }, transport: { kind: 'learned', model: 'spiral-mlp' } },
      '/body/params/transport/model',
    ],
    [
      'an unknown field',
      { system: GAUSSIANS, transport: { kind: 'none' }, temperature: 1 },
      '/body/params/temperature',
    ],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} with 400 naming ${path}`, async () => {
      const response = await submit(params);
      assert.equal(response.statusCode, 400, response.body);
      assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
      const paths = response.json().errors.map((error: { path: string }) => error.path);
      assert.ok(paths.includes(path), `${paths.join(', ')} should include ${path}`);
      await assertLive(app);
    });
  }
});
