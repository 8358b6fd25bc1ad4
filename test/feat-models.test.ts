// The learned FEAT transports: training's Python systems are the service's (energies at recorded points),
// the feat.free-energy job runs them through onnxruntime-node and recovers the exact ΔF, and models are
// refused for systems they were not trained on. Parity of the ONNX graphs is in parity.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createSystem, type SystemParams } from '../src/solvers/feat/systems/index.js';
import { assertLive, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const TRANSPORTS = ['feat-gmm', 'feat-phi4-umbrella', 'feat-dw4'].filter((name) =>
  existsSync(`${MODELS_DIR}${name}/model.onnx`),
);

describe('learned FEAT transports', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  for (const name of TRANSPORTS) {
    it(`${name}: the training system's energies are the service's`, () => {
      const check = JSON.parse(readFileSync(`${MODELS_DIR}${name}/system-check.json`, 'utf8')) as {
        system: SystemParams;
        points: number[][];
        energy_a: number[];
        energy_b: number[];
      };
      const pair = createSystem(check.system);
      check.points.forEach((point, i) => {
        const x = Float64Array.from(point);
        const expectedA = check.energy_a[i] as number;
        const expectedB = check.energy_b[i] as number;
        assert.ok(
          Math.abs(pair.a.energy(x) - expectedA) < 1e-9 * Math.max(1, Math.abs(expectedA)),
          `${name} a ${i}`,
        );
        assert.ok(
          Math.abs(pair.b.energy(x) - expectedB) < 1e-9 * Math.max(1, Math.abs(expectedB)),
          `${name} b ${i}`,
        );
      });
    });
  }

  const submit = (params: Record<string, unknown>, seed = 1) =>
    app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'feat.free-energy', params, seed } });
  const run = async (params: Record<string, unknown>) => {
    const submitted = await submit(params);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const done = await waitFor(
      `job ${id}`,
      async () => {
        const current = (await app.inject(`/v1/jobs/${id}`)).json();
        return ['completed', 'failed', 'cancelled'].includes(current.state) ? current : undefined;
      },
      60_000,
    );
    assert.equal(done.state, 'completed', JSON.stringify(done.error));
    return done.result;
  };

  it('the GMM pair with feat-gmm: BAR recovers ΔF = 2 within its CI, with the model named', async () => {
    const result = await run({
      system: { name: 'gmm' },
      transport: { kind: 'learned', model: 'feat-gmm' },
      n_forward: 500,
      n_reverse: 500,
      steps: 100,
      baselines: { enabled: false },
    });
    assert.equal(result.transport.kind, 'learned');
    assert.equal(result.transport.model.name, 'feat-gmm');
    assert.match(result.transport.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(result.evaluations.field, 2 * 500 * 101);
    const bar = result.estimates.bar;
    assert.ok(bar.ci[0] - 0.02 <= 2 && 2 <= bar.ci[1] + 0.02, JSON.stringify(bar));
    assert.equal(result.bounds_bracket_reference, true);
  });

  it('the φ⁴ umbrellas with feat-phi4-umbrella: ΔF = 0 within the BAR CI, end states by MALA', async () => {
    const result = await run({
      system: { name: 'phi4_umbrella' },
      transport: { kind: 'learned', model: 'feat-phi4-umbrella' },
      n_forward: 300,
      n_reverse: 300,
      steps: 50,
      mcmc: { steps: 300 },
      baselines: { enabled: false },
    });
    assert.equal(result.transport.model.name, 'feat-phi4-umbrella');
    assert.deepEqual(result.reference, { delta_f: 0, kind: 'symmetry' });
    assert.ok(result.end_state_sampling.b.acceptance > 0.3);
    const bar = result.estimates.bar;
    assert.ok(bar.ci[0] - 0.05 <= 0 && 0 <= bar.ci[1] + 0.05, JSON.stringify(bar));
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      'a system dimension the model does not take',
      { system: { name: 'gmm', dim: 5 }, transport: { kind: 'learned', model: 'feat-gmm' } },
      '/body/params/transport/model',
    ],
    [
      'a system the model was not trained on',
      { system: { name: 'gmm', b: { offset: 3 } }, transport: { kind: 'learned', model: 'feat-gmm' } },
      '/body/params/system',
    ],
    [
      'the GMM model on φ⁴',
      { system: { name: 'phi4_umbrella', side: 8 }, transport: { kind: 'learned', model: 'feat-gmm' } },
      '/body/params/transport/model',
    ],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} with 400 naming ${path}`, async () => {
      const response = await submit(params);
      assert.equal(response.statusCode, 400, response.body);
      const paths = response.json().errors.map((error: { path: string }) => error.path);
      assert.ok(paths.includes(path), `${paths.join(', ')} should include ${path}`);
      await assertLive(app);
    });
  }
});
