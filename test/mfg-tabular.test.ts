// The tabular family (a user's own mean-field game) against the built-in games: beach_bar,
// susceptible_infected and linear_quadratic written as tables (test/helpers/tabular-games.ts) give the same
// exploitability after every iteration, to 1e-12, for all five algorithms, and the same exact PMA run in
// stationary form; and every malformed game is refused with the field path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../src/errors.js';
import type { AlgorithmParams } from '../src/solvers/mfg/finite/algorithms.js';
import { createGame, type EnvParams } from '../src/solvers/mfg/finite/envs/index.js';
import { checkMfgFiniteParams, type MfgFiniteParams } from '../src/solvers/mfg/finite/params.js';
import { solveFinite } from '../src/solvers/mfg/finite/solve.js';
import { createStationaryGame, type StationaryEnvParams } from '../src/solvers/mfg/stationary/envs.js';
import { exactPma } from '../src/solvers/mfg/stationary/exact-pma.js';
import {
  beachBarTabular,
  linearQuadraticTabular,
  susceptibleInfectedTabular,
} from './helpers/tabular-games.js';

const ALGORITHMS: AlgorithmParams[] = [
  { name: 'online_mirror_descent', step: 1 },
  { name: 'fictitious_play', alpha: 0 },
  { name: 'prior_descent', eta: 1, n_inner: 5 },
  { name: 'fixed_point' },
  { name: 'boltzmann_policy_iteration', step: 1 },
  { name: 'fictitious_play', alpha: 0, temperature: 0.5 },
];

async function exploitability(env: EnvParams, algorithm: AlgorithmParams, iterations: number) {
  const solution = await solveFinite(createGame(env), {
    algorithm,
    iterations,
    atol: 0,
    rtol: 0,
    ties: 'uniform',
  });
  return solution.exploitability;
}

const PAIRS: Array<[string, EnvParams, EnvParams]> = [
  ['beach_bar', { name: 'beach_bar' }, beachBarTabular() as unknown as EnvParams],
  [
    'beach_bar (7 positions, horizon 6)',
    { name: 'beach_bar', positions: 7, bar_location: 3, horizon: 6, p_still: 0.2 },
    beachBarTabular(6, 7, 3, 0.2) as unknown as EnvParams,
  ],
  [
    'susceptible_infected',
    { name: 'susceptible_infected' },
    susceptibleInfectedTabular() as unknown as EnvParams,
  ],
  [
    'susceptible_infected (horizon 20, other rates)',
    { name: 'susceptible_infected', horizon: 20, infection: 0.6, recovery: 0.1 },
    susceptibleInfectedTabular(20, 0.6, 0.1) as unknown as EnvParams,
  ],
  ['linear_quadratic', { name: 'linear_quadratic' }, linearQuadraticTabular() as unknown as EnvParams],
  // Not k = 2: with δ = 0.1 the target 2 + (2(m − 2) − 1)·0.1 is exactly 1.5 at m = 0, and under a
  // symmetric policy m is ±1e−16 of float noise, whose sign decides the built-in's rounding; b + β·m (the
  // same number in exact arithmetic) rounds the other way. Away from such exact ties the two agree.
  [
    'linear_quadratic (horizon 6, el 4, m 1, k 1.3)',
    { name: 'linear_quadratic', horizon: 6, half_width: 4, max_move: 1, mean_reversion: 1.3, sigma: 1 },
    linearQuadraticTabular(6, 4, 1, 1, 0.1, 1.3) as unknown as EnvParams,
  ],
];

describe('tabular mean-field games reproduce the built-ins', () => {
  for (const [label, builtIn, tabular] of PAIRS) {
    it(`${label}: every algorithm, 40 iterations, to 1e-12`, async () => {
      checkMfgFiniteParams({
        env: tabular,
        algorithm: { name: 'fixed_point' },
        iterations: 1,
        atol: 0,
        rtol: 0,
      } as MfgFiniteParams);
      for (const algorithm of ALGORITHMS) {
        const expected = await exploitability(builtIn, algorithm, 40);
        const actual = await exploitability(tabular, algorithm, 40);
        assert.equal(actual.length, expected.length);
        const worst = Math.max(...actual.map((value, k) => Math.abs(value - (expected[k] as number))));
        assert.ok(worst <= 1e-12, `${algorithm.name}: largest difference ${worst}`);
        assert.ok(
          (expected[0] as number) > 1e-3,
          'the uniform policy is exploitable, so the series says something',
        );
      }
    });
  }

  for (const [label, builtIn, tabular] of [
    ['beach_bar', { name: 'beach_bar' }, beachBarTabular()],
    ['susceptible_infected', { name: 'susceptible_infected' }, susceptibleInfectedTabular()],
  ] as const) {
    it(`${label} in stationary form: exact PMA gives the same exploitability per iteration`, async () => {
      const { horizon: _horizon, ...stationary } = tabular;
      const run = async (env: StationaryEnvParams) =>
        (
          await exactPma(createStationaryGame(env, 0.9), {
            lambda: 0.1,
            eta: 1,
            iterations: 30,
            tolerance: 0,
          })
        ).exploitability;
      const expected = await run(builtIn as StationaryEnvParams);
      const actual = await run(stationary as StationaryEnvParams);
      assert.equal(actual.length, expected.length);
      actual.forEach((value, k) => {
        assert.ok(Math.abs(value - (expected[k] as number)) <= 1e-12, `iteration ${k}`);
      });
    });
  }
});

describe('malformed tabular games are refused with the field path', () => {
  const check = (env: Record<string, unknown>) =>
    checkMfgFiniteParams({
      env,
      algorithm: { name: 'fixed_point' },
      iterations: 10,
      atol: 0,
      rtol: 0,
    } as MfgFiniteParams);
  const refused = (env: Record<string, unknown>, path: string, pattern: RegExp) => {
    assert.throws(
      () => check(env),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, String(error));
        const match = error.errors.find((field) => field.path === path);
        assert.ok(match, `no error at ${path}: ${JSON.stringify(error.errors)}`);
        assert.match(match.message, pattern);
        return true;
      },
    );
  };
  const sis = () => structuredClone(susceptibleInfectedTabular());

  it('a kernel row whose weights do not sum to 1', () => {
    const env = sis();
    (env.transition.base[1] as [number, number][][])[0] = [
      [0, 0.3],
      [1, 0.6],
    ];
    refused(env, '/body/params/env/transition/base/1/0', /sum to 1 \(sum to 0\.89/);
  });

  it('a linear term whose row does not sum to 0', () => {
    const env = sis();
    ((env.transition.linear[0] as { rows: [number, number][][][] }).rows[0] as [number, number][][])[0] = [
      [1, 0.81],
    ];
    refused(env, '/body/params/env/transition/linear/0/rows/0/0', /must sum to 0/);
  });

  it('a kernel that turns negative for some population', () => {
    const env = sis();
    const rows = (env.transition.linear[0] as { rows: [number, number][][][] }).rows;
    (rows[0] as [number, number][][])[0] = [
      [0, -1.5],
      [1, 1.5],
    ];
    refused(env, '/body/params/env/transition/base/0/0', /is -0\.5 when the whole population is in state 1/);
  });

  it('tensors of the wrong shape, indices out of range, times that do not match', () => {
    const wrongStates = sis();
    wrongStates.reward.constant = [[0, -0.5]];
    refused(wrongStates, '/body/params/env/reward/constant', /must have 2 entries \(one per state\)/);
    const wrongActions = sis();
    wrongActions.reward.constant = [[0], [-1, -1.5]];
    refused(wrongActions, '/body/params/env/reward/constant/0', /must have 2 entries \(one per action\)/);
    const farState = sis();
    (farState.transition.base[0] as [number, number][][])[0] = [[2, 1]];
    refused(farState, '/body/params/env/transition/base/0/0/0/0', /must be a state below 2/);
    const farFeature = sis();
    (farFeature.transition.linear[0] as { feature: number }).feature = 1;
    refused(
      farFeature,
      '/body/params/env/transition/linear/0/feature',
      /below the number of statistics \(1\)/,
    );
    const shortFeature = sis();
    shortFeature.features = [[1]];
    refused(shortFeature, '/body/params/env/features/0', /must have 2 entries/);
    const times = structuredClone(linearQuadraticTabular()) as Record<string, unknown>;
    times.horizon = 4;
    refused(times, '/body/params/env/reward/constant/by_time', /must have 5 entries \(one per time\)/);
  });

  it('by_time tensors in a stationary game', async () => {
    const { checkMfgPmaParams } = await import('../src/solvers/mfg/stationary/params.js');
    const { horizon: _horizon, ...env } = linearQuadraticTabular();
    assert.throws(
      () =>
        checkMfgPmaParams({
          env,
          discount: 0.9,
          lambda: 0.1,
          eta: 1,
          mode: { name: 'exact', iterations: 10, tolerance: 0 },
        } as never),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.errors.some((field) => field.path === '/body/params/env/reward/constant/by_time'),
    );
  });
});
