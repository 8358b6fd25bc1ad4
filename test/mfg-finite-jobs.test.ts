// The mfg.finite job through the API (inline queue, job processes): results match the numerics, progress
// carries the exploitability, a running job can be cancelled, and bad params are refused at submit with the
// field path, never a failed job.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { assertJobPlot } from './helpers/svg.js';

describe('mfg.finite job', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const api = jobApi(() => app);
  const submit = (params: Record<string, unknown>, seed = 1) => api.submit('mfg.finite', params, seed);
  const { finished } = api;

  it('solves left_right with mirror descent: exploitability per iteration, policy, mean field', async () => {
    const submitted = await submit({
      env: { name: 'left_right' },
      algorithm: { name: 'online_mirror_descent' },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    const result = done.result;
    assert.equal(result.iterations, 100);
    assert.equal(result.exploitability.length, 101);
    assert.equal(result.exploitability[0], 0.25);
    assert.ok(Math.abs(result.exploitability[1] - 0.0500702009915) < 1e-12);
    assert.ok(result.final_exploitability < 1e-12);
    assert.ok(Math.abs(result.policy[0][0][0] - 2 / 3) < 1e-9, 'P(left) = 2/3');
    assert.deepEqual(result.game, {
      name: 'left_right',
      horizon: 1,
      states: 3,
      actions: 2,
      openspiel_compat: false,
    });
    assert.ok(Math.abs(result.mean_field[1][1] - 2 / 3) < 1e-9);
    assert.ok(result.wall_ms >= 0);
    const artifact = (await app.inject(`/v1/jobs/${done.id}/artifacts/solution.json`)).json();
    assert.deepEqual(artifact.exploitability, result.exploitability);
    assert.deepEqual(result.plots, ['convergence.svg']);
    await assertJobPlot(app, done, 'convergence.svg', { exploitability: result.exploitability.length });
  });

  it("reproduces OpenSpiel's crowd_modelling fictitious play in compat mode and stops at the tolerance", async () => {
    const compat = await finished(
      (
        await submit({
          env: { name: 'crowd_modelling', openspiel_compat: true },
          algorithm: { name: 'fictitious_play' },
          iterations: 10,
        })
      ).json().id,
    );
    assert.equal(compat.state, 'completed', compat.error);
    assert.ok(Math.abs(compat.result.exploitability[0] - 2.8135365543870385) < 1e-12);
    assert.ok(Math.abs(compat.result.final_exploitability - 0.99080326) < 5e-9);
    assert.equal(compat.result.game.openspiel_compat, true);
    const stopped = await finished(
      (
        await submit({
          env: { name: 'beach_bar' },
          algorithm: { name: 'online_mirror_descent' },
          iterations: 1000,
          atol: 1e-3,
        })
      ).json().id,
    );
    assert.equal(stopped.result.stopped_early, true);
    assert.ok(stopped.result.iterations < 1000);
    assert.ok(stopped.result.final_exploitability <= 1e-3);
  });

  it('reports progress and cancels a long run', async () => {
    const submitted = await submit({
      env: { name: 'building_evacuation' },
      algorithm: { name: 'online_mirror_descent', step: 0.3 },
      iterations: 16_000,
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const running = await api.cancelWhileRunning(id, 'exploitability');
    assert.ok(running.progress.fraction < 1);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown game', { env: { name: 'chess' }, algorithm: { name: 'fixed_point' } }, '/body/params/env'],
    [
      'an unknown algorithm',
      { env: { name: 'left_right' }, algorithm: { name: 'sgd' } },
      '/body/params/algorithm',
    ],
    [
      'a negative horizon',
      { env: { name: 'beach_bar', horizon: -1 }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/horizon',
    ],
    [
      'a probability above 1',
      { env: { name: 'susceptible_infected', recovery: 1.5 }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/recovery',
    ],
    [
      'a bar off the beach',
      { env: { name: 'beach_bar', positions: 4, bar_location: 4 }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/bar_location',
    ],
    [
      'an initial law of the wrong length',
      { env: { name: 'left_right', initial: [0.5, 0.5] }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/initial',
    ],
    [
      'an initial law not summing to 1',
      { env: { name: 'left_right', initial: [0.5, 0.2, 0.2] }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/initial',
    ],
    [
      'treasure rewards not one per site',
      { env: { name: 'conservative_treasure_hunting', rewards: [1, 2] }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/rewards',
    ],
    [
      'a zero step',
      { env: { name: 'left_right' }, algorithm: { name: 'online_mirror_descent', step: 0 } },
      '/body/params/algorithm/step',
    ],
    [
      'work over the limit',
      { env: { name: 'building_evacuation' }, algorithm: { name: 'fixed_point' }, iterations: 100_000 },
      '/body/params/iterations',
    ],
    [
      'an unknown field',
      { env: { name: 'left_right', mood: 1 }, algorithm: { name: 'fixed_point' } },
      '/body/params/env/mood',
    ],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} with 400 naming ${path}`, () => api.assertRefused('mfg.finite', params, path));
  }
});
