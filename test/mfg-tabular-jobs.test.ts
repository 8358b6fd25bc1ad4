// A user's own game through the API: a 200-state tabular game (a ring road where drivers avoid crowded
// cells and head for an exit) solved by mfg.finite with progress and cancel, its stationary form by mfg.pma,
// and malformed games refused at submit with the field path, never a failed job.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { susceptibleInfectedTabular } from './helpers/tabular-games.js';

/** S cells on a ring, actions back / wait / forward, slipping one cell either way w.p. 0.1 each. */
function ringRoad(states: number) {
  const exit = Math.floor(states / 2);
  const constant = Array.from({ length: states }, (_, s) => {
    const distance = Math.min(Math.abs(s - exit), states - Math.abs(s - exit));
    return [0, 1, 2].map((a) => -distance / states - (a === 1 ? 0 : 0.01));
  });
  const base = Array.from({ length: states }, (_, s) =>
    [0, 1, 2].map((a) => {
      const target = (s + a - 1 + states) % states;
      return [
        [(target + states - 1) % states, 0.1],
        [target, 0.8],
        [(target + 1) % states, 0.1],
      ];
    }),
  );
  return {
    name: 'tabular',
    states,
    actions: 3,
    reward: { constant, log_density: constant.map((row) => row.map(() => -0.2)) },
    transition: { base },
  };
}

describe('tabular mean-field games through the API', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const api = jobApi(() => app);
  const { finished } = api;

  it('solves a 200-state game of its own with fictitious play', async () => {
    const submitted = await api.submit(
      'mfg.finite',
      { env: { ...ringRoad(200), horizon: 20 }, algorithm: { name: 'fictitious_play' }, iterations: 30 },
      1,
    );
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    const { result } = done;
    assert.deepEqual(result.game, {
      name: 'tabular',
      horizon: 20,
      states: 200,
      actions: 3,
      openspiel_compat: false,
    });
    assert.equal(result.exploitability.length, 31);
    assert.ok(
      result.final_exploitability < result.exploitability[0] / 4,
      JSON.stringify(result.exploitability),
    );
    const artifact = (await app.inject(`/v1/jobs/${done.id}/artifacts/solution.json`)).json();
    assert.equal(artifact.mean_field.length, 21);
    const total = artifact.mean_field[20].reduce((sum: number, p: number) => sum + p, 0);
    assert.ok(Math.abs(total - 1) < 1e-9);
  });

  it('takes a 10 000-state game in one JSON body larger than BODY_LIMIT_BYTES', async () => {
    const params = {
      env: { ...ringRoad(10_000), horizon: 3 },
      algorithm: { name: 'fixed_point' },
      iterations: 2,
    };
    assert.ok(JSON.stringify(params).length > 1024 * 1024, 'over the 1 MiB of ordinary routes');
    const submitted = await api.submit('mfg.finite', params, 1);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.result.game.states, 10_000);
  });

  it('reports progress on a long run and cancels it', async () => {
    const submitted = await api.submit(
      'mfg.finite',
      {
        env: { ...ringRoad(200), horizon: 50 },
        algorithm: { name: 'online_mirror_descent', step: 0.1 },
        iterations: 3000,
      },
      1,
    );
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    await api.cancelWhileRunning(id, 'exploitability');
  });

  it('solves the stationary form with exact PMA (η = 0.1: at η = 1 this game diverges)', async () => {
    const submitted = await api.submit(
      'mfg.pma',
      { env: ringRoad(200), eta: 0.1, mode: { name: 'exact', iterations: 30 } },
      1,
    );
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    const series: number[] = done.result.exploitability;
    assert.ok((series.at(-1) as number) < (series[0] as number) / 10, JSON.stringify(series));
  });

  const sis = () => ({ ...susceptibleInfectedTabular() }) as Record<string, unknown>;
  const bad: Array<[string, () => Record<string, unknown>, string]> = [
    ['a state count of 0', () => ({ ...sis(), states: 0 }), '/body/params/env/states'],
    ['no transition', () => ({ ...sis(), transition: undefined }), '/body/params/env'],
    [
      'a probability pair that is not a pair',
      () => {
        const env = structuredClone(susceptibleInfectedTabular()) as { transition: { base: unknown[][][] } };
        (env.transition.base[0] as unknown[][])[0] = [[0, 0.5, 0.5]];
        return env as unknown as Record<string, unknown>;
      },
      '/body/params/env/transition/base',
    ],
    [
      'laws that do not sum to 1',
      () => {
        const env = structuredClone(susceptibleInfectedTabular());
        env.transition.base[1] = [[[0, 0.5]], [[0, 0.5]]];
        return env as unknown as Record<string, unknown>;
      },
      '/body/params/env/transition/base/1/0',
    ],
    [
      'a reward with too few states',
      () => {
        const env = structuredClone(susceptibleInfectedTabular());
        env.reward.constant = [[0, 1]];
        return env as unknown as Record<string, unknown>;
      },
      '/body/params/env/reward/constant',
    ],
  ];
  for (const [label, env, path] of bad) {
    it(`refuses ${label} at submit with the field path`, async () => {
      const response = await api.submit('mfg.finite', { env: env(), algorithm: { name: 'fixed_point' } }, 1);
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      const errors: { path: string }[] = response.json().errors;
      assert.ok(
        errors.some((error) => error.path.startsWith(path)),
        `${path} not in ${JSON.stringify(errors)}`,
      );
    });
  }
});
