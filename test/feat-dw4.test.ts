// FEAT on a particle system, DW-4 (system `dw4`): the energies keep the symmetries FEAT's code relies on
// (translations, rotations, permutations) and their gradients are right, the paths' noise stays mean-free,
// the recorded reference ΔF is the reference run's, and with the learned equivariant transport (feat-dw4,
// through onnxruntime-node) FEAT's BAR CI covers the reference in ≥ 18 of 20 seeds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { featFreeEnergy } from '../src/jobs/processors/feat-free-energy.js';
import { Random } from '../src/lib/random.js';
import type { FeatParams } from '../src/solvers/feat/params.js';
import { DW4_REFERENCE } from '../src/solvers/feat/systems/dw4.js';
import { createSystem } from '../src/solvers/feat/systems/index.js';
import { MODELS_DIR } from './helpers/app.js';

const pair = createSystem({ name: 'dw4' });
const models = {
  modelsDir: MODELS_DIR,
  modelRepositoryDir: '/nonexistent',
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  fashionMnistDir: '',
};

function configuration(seed: number): Float64Array {
  const random = new Random(seed);
  return Float64Array.from({ length: 8 }, () => 3 * random.nextNormal());
}

describe('FEAT on DW-4', () => {
  it('energies are invariant under translation, rotation and permutation, and gradients are right', () => {
    for (const state of [pair.a, pair.b]) {
      for (let seed = 1; seed <= 5; seed++) {
        const x = configuration(seed);
        const energy = state.energy(x);
        const moved = x.map((value, i) => value + (i % 2 === 0 ? 1.7 : -0.4));
        const angle = 0.9;
        const rotated = x.map((_, i) => {
          const [px, py] = [x[i - (i % 2)] as number, x[i - (i % 2) + 1] as number];
          return i % 2 === 0
            ? Math.cos(angle) * px - Math.sin(angle) * py
            : Math.sin(angle) * px + Math.cos(angle) * py;
        });
        const swapped = Float64Array.of(
          x[4] as number,
          x[5] as number,
          x[2] as number,
          x[3] as number,
          x[0] as number,
          x[1] as number,
          x[6] as number,
          x[7] as number,
        );
        for (const [what, y] of [
          ['translated', moved],
          ['rotated', rotated],
          ['permuted', swapped],
        ] as const)
          assert.ok(Math.abs(state.energy(y) - energy) < 1e-9 * Math.max(1, Math.abs(energy)), what);
        const gradient = new Float64Array(8);
        state.energy(x, gradient);
        assert.ok(
          Math.abs(gradient.reduce((sum, g, i) => sum + (i % 2 === 0 ? g : 0), 0)) < 1e-9,
          'mean-free gradient',
        );
        for (let i = 0; i < 8; i++) {
          const up = Float64Array.from(x);
          const down = Float64Array.from(x);
          up[i] = (up[i] as number) + 1e-6;
          down[i] = (down[i] as number) - 1e-6;
          const numeric = (state.energy(up) - state.energy(down)) / 2e-6;
          assert.ok(
            Math.abs(numeric - (gradient[i] as number)) < 1e-4 * Math.max(1, Math.abs(numeric)),
            `∂U/∂x${i}`,
          );
        }
      }
    }
  });

  it('records the reference run: TI, BAR between windows and FEP agree, and the job reports it with its CI', () => {
    const run = JSON.parse(
      readFileSync(new URL('../training/results/feat-dw4-reference.json', import.meta.url), 'utf8'),
    );
    const ti = run.thermodynamic_integration;
    assert.equal(DW4_REFERENCE.deltaF, ti.delta_f);
    assert.deepEqual(DW4_REFERENCE.ci, ti.ci);
    const fep = run.free_energy_perturbation;
    assert.ok(
      fep.ci[0] - 0.01 <= ti.delta_f && ti.delta_f <= fep.ci[1] + 0.01,
      'FEP from exact samples agrees',
    );
    assert.ok(Math.abs(run.bar_between_nodes - ti.delta_f) < 0.01, 'BAR between windows agrees');
    assert.deepEqual(pair.reference, { deltaF: ti.delta_f, kind: 'simulation', ci: ti.ci });
  });

  it("with the learned transport, FEAT's BAR CI covers the reference in ≥ 18 of 20 seeds", async () => {
    let covered = 0;
    const widths: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const { result } = await featFreeEnergy(
        {
          system: { name: 'dw4' },
          transport: { kind: 'learned', model: 'feat-dw4' },
          n_forward: 500,
          n_reverse: 500,
          steps: 100,
          eps: 0.01,
          bootstrap: 200,
          histogram_bins: 20,
          baselines: { enabled: false },
        } as FeatParams,
        { seed, progress: () => {}, signal: new AbortController().signal, models },
      );
      // biome-ignore lint/suspicious/noExplicitAny: plain JSON, read field by field
      const bar = (result as any).estimates.bar;
      if (bar.ci[0] <= DW4_REFERENCE.deltaF && DW4_REFERENCE.deltaF <= bar.ci[1]) covered++;
      widths.push(bar.ci[1] - bar.ci[0]);
    }
    const meanWidth = widths.reduce((a, b) => a + b, 0) / widths.length;
    console.log(
      `dw4, feat-dw4, 20 seeds: the BAR CI covers ${DW4_REFERENCE.deltaF.toFixed(4)} in ${covered}; mean width ${meanWidth.toFixed(3)}`,
    );
    assert.ok(covered >= 18, `covered in ${covered} of 20`);
  });
});
