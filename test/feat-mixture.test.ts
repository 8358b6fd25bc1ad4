// FEAT on Gaussian mixtures of the user's own (system `mixture`): the energy, its gradient and the
// analytic log Z against quadrature and finite differences, exact samples with the mixture's moments,
// FEAT's BAR CI covering the analytic ΔF in ≥ 18 of 20 seeds, and the job refusing malformed mixtures
// with the field path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Random } from '../src/lib/random.js';
import { newEvaluations } from '../src/solvers/feat/counters.js';
import { bootstrapEstimates } from '../src/solvers/feat/estimators.js';
import { pathLogWeights } from '../src/solvers/feat/paths.js';
import type { EndState } from '../src/solvers/feat/systems/end-state.js';
import { createSystem, type SystemParams } from '../src/solvers/feat/systems/index.js';
import { noTransport } from '../src/solvers/feat/transport.js';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';

/** Two components against three, unequal unnormalised weights, correlated covariances, offsets. */
const MIXTURES = {
  name: 'mixture' as const,
  dim: 2,
  a: {
    components: [
      {
        weight: 1,
        mean: [-1, 0],
        covariance: [
          [0.5, 0.2],
          [0.2, 0.4],
        ],
      },
      {
        weight: 2,
        mean: [1.5, 1],
        covariance: [
          [0.3, 0],
          [0, 0.3],
        ],
      },
    ],
    offset: 0.5,
  },
  b: {
    components: [
      {
        weight: 1,
        mean: [0, -1],
        covariance: [
          [0.3, 0],
          [0, 0.6],
        ],
      },
      { weight: 1, mean: [1, 1.5] },
      {
        weight: 0.5,
        mean: [-1.5, 1],
        covariance: [
          [0.2, 0],
          [0, 0.2],
        ],
      },
    ],
    offset: -1,
  },
};
const EXACT = -1 - 0.5 - Math.log(2.5 / 3);

/** log ∫ e^{−U} over [−10, 10]² by the midpoint rule. */
function quadratureLogZ(state: EndState): number {
  const cells = 800;
  const h = 20 / cells;
  const x = new Float64Array(2);
  let sum = 0;
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      x[0] = -10 + (i + 0.5) * h;
      x[1] = -10 + (j + 0.5) * h;
      sum += Math.exp(-state.energy(x));
    }
  }
  return Math.log(sum * h * h);
}

describe('FEAT on user Gaussian mixtures', () => {
  const pair = createSystem(MIXTURES as SystemParams);

  it('the analytic ΔF, log Z by quadrature, the gradient by finite differences', () => {
    assert.ok(Math.abs((pair.reference?.deltaF as number) - EXACT) < 1e-12);
    for (const state of [pair.a, pair.b]) {
      assert.ok(Math.abs(quadratureLogZ(state) - (state.logPartition as number)) < 1e-6);
      const x = Float64Array.of(0.3, -0.7);
      const gradient = new Float64Array(2);
      state.energy(x, gradient);
      for (let i = 0; i < 2; i++) {
        const step = 1e-6;
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[i] = (up[i] as number) + step;
        down[i] = (down[i] as number) - step;
        const numeric = (state.energy(up) - state.energy(down)) / (2 * step);
        assert.ok(Math.abs(numeric - (gradient[i] as number)) < 1e-6, `∂U/∂x${i}`);
      }
    }
  });

  it('samples exactly: the mean of a matches Σ w_k m_k / Σ w', () => {
    const samples = (pair.a.sample as NonNullable<EndState['sample']>)(new Random(3), 40_000);
    const mean = [0, 0];
    for (let n = 0; n < 40_000; n++)
      for (let i = 0; i < 2; i++) mean[i] = (mean[i] as number) + (samples[2 * n + i] as number) / 40_000;
    // (1·(−1, 0) + 2·(1.5, 1)) / 3; the standard error of each coordinate is under 0.006.
    assert.ok(
      Math.abs((mean[0] as number) - 2 / 3) < 0.03 && Math.abs((mean[1] as number) - 2 / 3) < 0.03,
      String(mean),
    );
  });

  it("FEAT's BAR CI covers the analytic ΔF in ≥ 18 of 20 seeds", async () => {
    let covered = 0;
    const noop = async () => {};
    for (let seed = 1; seed <= 20; seed++) {
      const random = new Random(seed);
      const evaluations = newEvaluations();
      const transport = noTransport(pair, evaluations);
      const a = (pair.a.sample as NonNullable<EndState['sample']>)(random, 1000);
      const b = (pair.b.sample as NonNullable<EndState['sample']>)(random, 1000);
      const settings = { steps: 100, eps: 0.01 };
      const forward = await pathLogWeights(
        'forward',
        pair,
        transport,
        a,
        1000,
        settings,
        random,
        evaluations,
        noop,
      );
      const reverse = await pathLogWeights(
        'reverse',
        pair,
        transport,
        b,
        1000,
        settings,
        random,
        evaluations,
        noop,
      );
      const [low, high] = (await bootstrapEstimates(forward, reverse, 200, random)).bar.ci;
      if (low <= EXACT && EXACT <= high) covered++;
    }
    console.log(`user mixtures, 20 seeds: the BAR CI covers ΔF = ${EXACT.toFixed(4)} in ${covered}`);
    assert.ok(covered >= 18, `covered in ${covered} of 20`);
  });
});

describe('feat.free-energy job on a user mixture', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));
  const api = jobApi(() => app);
  const submit = (system: unknown) =>
    api.submit(
      'feat.free-energy',
      {
        system,
        transport: { kind: 'none' },
        n_forward: 200,
        n_reverse: 200,
        steps: 20,
        baselines: { enabled: false },
      },
      1,
    );

  it('runs and reports the analytic reference', async () => {
    const submitted = await submit(MIXTURES);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const done = await api.finished(submitted.json().id);
    assert.equal(done.state, 'completed', done.error);
    assert.ok(Math.abs(done.result.reference.delta_f - EXACT) < 1e-12, JSON.stringify(done.result.reference));
    assert.ok(Math.abs(done.result.estimates.bar.delta_f - EXACT) < 0.5);
  });

  interface End {
    components: { weight: number; mean: number[]; covariance?: number[][] }[];
  }
  const component = (end: End, index: number) => end.components[index] as End['components'][number];
  const broken = (edit: (system: typeof MIXTURES) => void) => {
    const system = structuredClone(MIXTURES);
    edit(system);
    return system;
  };
  const bad: Array<[string, unknown, string]> = [
    [
      'a mean of the wrong length',
      broken((s) => {
        component(s.a, 0).mean = [1];
      }),
      '/body/params/system/a/components/0/mean',
    ],
    [
      'a covariance that is not positive definite',
      broken((s) => {
        component(s.b, 0).covariance = [
          [1, 2],
          [2, 1],
        ];
      }),
      '/body/params/system/b/components/0/covariance',
    ],
    [
      'an asymmetric covariance',
      broken((s) => {
        component(s.a, 1).covariance = [
          [1, 0.5],
          [0, 1],
        ];
      }),
      '/body/params/system/a/components/1/covariance',
    ],
    [
      'a zero weight',
      broken((s) => {
        component(s.a, 0).weight = 0;
      }),
      '/body/params/system/a/components/0/weight',
    ],
    [
      'no components',
      broken((s) => {
        s.b.components = [];
      }),
      '/body/params/system/b/components',
    ],
  ];
  for (const [label, system, path] of bad) {
    it(`refuses ${label} with the field path`, async () => {
      const response = await submit(system);
      assert.equal(response.statusCode, 400, response.body);
      const errors: { path: string }[] = response.json().errors;
      assert.ok(
        errors.some((error) => error.path === path),
        `${path} not in ${JSON.stringify(errors)}`,
      );
    });
  }
});
