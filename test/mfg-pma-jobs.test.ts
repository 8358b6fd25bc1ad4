// The mfg.pma job through the API (inline queue, job processes): exact mode's series and linear rate, the
// N-agent mode's per-epoch metrics and seed reproducibility, progress and cancellation, and bad params
// refused at submit with the field path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { assertJobPlot } from './helpers/svg.js';

describe('mfg.pma job', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const api = jobApi(() => app);
  const submit = (params: Record<string, unknown>, seed = 1) => api.submit('mfg.pma', params, seed);
  const run = (params: Record<string, unknown>, seed = 1) => api.run('mfg.pma', params, seed);

  it('exact mode: exploitability per iteration falls linearly to 0 at the SIS equilibrium', async () => {
    const done = await run({ env: { name: 'susceptible_infected' }, mode: { name: 'exact' } });
    const { result, id } = done;
    assert.equal(result.mode, 'exact');
    assert.deepEqual(result.game, { name: 'susceptible_infected', states: 2, actions: 2 });
    assert.equal(result.discount, 0.9);
    assert.equal(result.lambda, 0.1);
    assert.ok(result.iterations <= 200 && result.iterations > 100);
    assert.equal(result.exploitability.length, result.iterations + 1);
    assert.ok(result.exploitability[0] > 0.5);
    assert.ok(Math.abs(result.final_exploitability) < 1e-12);
    // The SIS equilibrium (test/mfg-pma.test.ts checks it independently): 39.05 % infected.
    assert.ok(Math.abs(result.mean_field[1] - 0.3905) < 1e-4, `${result.mean_field}`);
    assert.ok(result.linear_rate.rate > 0.85 && result.linear_rate.rate < 0.95, `${result.linear_rate.rate}`);
    assert.ok(result.linear_rate.r2 > 0.999);
    assert.ok(result.stationary_residual < 1e-12);
    const artifact = (await app.inject(`/v1/jobs/${id}/artifacts/solution.json`)).json();
    assert.deepEqual(artifact.exploitability, result.exploitability);
    await assertJobPlot(app, done, 'convergence.svg', {
      exploitability: result.exploitability.length,
      'policy step ‖π(k+1) − π(k)‖': result.policy_steps.length,
    });
  });

  it('n_agent mode: per-epoch exploitability of the mean policy, spread and samples; reproducible', async () => {
    const params = {
      env: { name: 'beach_bar' },
      mode: { name: 'n_agent', agents: 20, epochs: 10, steps_per_epoch: 500 },
    };
    const firstJob = await run(params, 3);
    const first = firstJob.result;
    assert.equal(first.mode, 'n_agent');
    const plot = await assertJobPlot(app, firstJob, 'convergence.svg', {
      exploitability: first.exploitability.length,
    });
    assert.match(plot, /sampling floor/, 'the floor is drawn');
    assert.equal(first.exploitability.length, 11);
    assert.equal(first.spread_mean.length, 11);
    assert.ok(first.spread_mean[0] < 1e-12, 'every agent starts uniform');
    assert.ok(first.spread_max.at(-1) > 0);
    assert.deepEqual(
      first.samples,
      Array.from({ length: 11 }, (_, k) => k * 20 * 500),
    );
    assert.equal(first.samples_per_agent, 5000);
    assert.ok(first.final_exploitability < first.exploitability[0], 'learning helps');
    assert.equal(first.mean_policy.length, 4);
    assert.ok(Math.abs(first.final_empirical_law.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-12);
    const again = (await run(params, 3)).result;
    assert.deepEqual(again.exploitability, first.exploitability);
    assert.deepEqual(again.mean_policy, first.mean_policy);
    const other = (await run(params, 4)).result;
    assert.notDeepEqual(other.exploitability, first.exploitability);
  });

  it('reports progress and cancels a long N-agent run', async () => {
    const submitted = await submit({
      env: { name: 'beach_bar' },
      mode: { name: 'n_agent', agents: 1000, epochs: 200, steps_per_epoch: 1000 },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const running = await api.cancelWhileRunning(id, 'exploitability');
    assert.ok(running.progress.metrics.samples > 0);
  });

  const exact = { name: 'exact' };
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown game', { env: { name: 'chess' }, mode: exact }, '/body/params/env'],
    ['an unknown mode', { env: { name: 'beach_bar' }, mode: { name: 'gossip' } }, '/body/params/mode'],
    [
      'a probability above 1',
      { env: { name: 'susceptible_infected', infection: 1.2 }, mode: exact },
      '/body/params/env/infection',
    ],
    [
      'a horizon (stationary games have none)',
      { env: { name: 'beach_bar', horizon: 3 }, mode: exact },
      '/body/params/env/horizon',
    ],
    [
      'a bar off the beach',
      { env: { name: 'beach_bar', positions: 5, bar_location: 7 }, mode: exact },
      '/body/params/env/bar_location',
    ],
    [
      'an initial law not summing to 1',
      { env: { name: 'susceptible_infected', initial: [0.5, 0.6] }, mode: exact },
      '/body/params/env/initial',
    ],
    ['a discount of 1', { env: { name: 'beach_bar' }, discount: 1, mode: exact }, '/body/params/discount'],
    ['λ = 0', { env: { name: 'beach_bar' }, lambda: 0, mode: exact }, '/body/params/lambda'],
    ['a negative η', { env: { name: 'beach_bar' }, eta: -1, mode: exact }, '/body/params/eta'],
    [
      'N < 1',
      { env: { name: 'beach_bar' }, mode: { name: 'n_agent', agents: 0 } },
      '/body/params/mode/agents',
    ],
    [
      'too many agent-steps',
      {
        env: { name: 'beach_bar' },
        mode: { name: 'n_agent', agents: 100_000, epochs: 100, steps_per_epoch: 1000 },
      },
      '/body/params/mode/steps_per_epoch',
    ],
    [
      'too many states',
      { env: { name: 'beach_bar', positions: 500, bar_location: 1 }, mode: exact },
      '/body/params/env',
    ],
    [
      'too many exact iterations for the states',
      {
        env: { name: 'beach_bar', positions: 200, bar_location: 1 },
        mode: { name: 'exact', iterations: 1000 },
      },
      '/body/params/mode/iterations',
    ],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} with 400 naming ${path}`, () => api.assertRefused('mfg.pma', params, path));
  }
});
