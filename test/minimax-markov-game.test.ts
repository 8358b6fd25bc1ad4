// minimax.markov-game: the ground truth checked by solvers that share nothing with it — the equilibrium
// strategies evaluated by solving the linear Bellman system with rewards and transitions written out in
// closed form (not through the feature tables), and certified by the dynamic-programming Nash gap — then
// MFL-AG's averaged strategies and MFL-ABR's last iterate driving the exact Nash gap down through the API,
// seeds, and every bad input refused at submit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { klDivergence } from '../src/solvers/minimax/gibbs.js';
import { boxGrid, gaussianReference } from '../src/solvers/minimax/grid.js';
import { pursuit3 } from '../src/solvers/minimax/markov-game.js';
import {
  createMarkovStages,
  nashGap,
  solveMarkovEquilibrium,
} from '../src/solvers/minimax/markov-game-values.js';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { assertJobPlot } from './helpers/svg.js';

const LAMBDA = 0.3;
const GAMMA = 0.8;

/** pursuit-3 written out: r(s, x, y) and P(s'|s, x, y), as docs/minimax.md states them. */
const STAGES: Array<[number, number, number]> = [
  [1, 0, 0.5],
  [1, Math.PI / 2, 0],
  [0.5, Math.PI, 0.25],
];
const BASE = [
  [0.6, 0.3, 0.1],
  [0.1, 0.6, 0.3],
  [0.3, 0.1, 0.6],
];
const reward = (s: number, x: number, y: number) => {
  const [a, c, b] = STAGES[s] as [number, number, number];
  return a * Math.cos(x - y - c) + b * Math.sin(x);
};
const transition = (s: number, next: number, x: number, y: number) => {
  const drift = next === s ? -0.25 : next === (s + 1) % 3 ? 0.25 : 0;
  return (BASE[s]?.[next] as number) + drift * Math.cos(x - y);
};

/** Solves A v = b by Gaussian elimination with partial pivoting. */
function solveLinear(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++)
      if (Math.abs(m[row]?.[col] as number) > Math.abs(m[pivot]?.[col] as number)) pivot = row;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    const top = m[col] as number[];
    for (let row = col + 1; row < n; row++) {
      const target = m[row] as number[];
      const factor = (target[col] as number) / (top[col] as number);
      for (let k = col; k <= n; k++) target[k] = (target[k] as number) - factor * (top[k] as number);
    }
  }
  const v = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = m[row]?.[n] as number;
    for (let k = row + 1; k < n; k++) sum -= (m[row]?.[k] as number) * (v[k] as number);
    v[row] = sum / (m[row]?.[row] as number);
  }
  return v;
}

describe('minimax.markov-game ground truth', () => {
  const grid = boxGrid(1, 400, 6);
  const reference = gaussianReference(grid, 1);
  const stages = createMarkovStages(pursuit3(GAMMA), grid, reference, reference);
  const equilibrium = solveMarkovEquilibrium(stages, LAMBDA);

  it('Shapley iteration converges, and its strategies have a Nash gap of 0 by dynamic programming', () => {
    assert.ok(equilibrium.converged);
    assert.ok(equilibrium.residual < 1e-12, `residual ${equilibrium.residual}`);
    assert.ok(equilibrium.stageResidual < 1e-12, `stage residual ${equilibrium.stageResidual}`);
    const gap = nashGap(stages, equilibrium.policies, LAMBDA);
    assert.ok(gap.gap < 1e-9, `Nash gap ${gap.gap}`);
    assert.ok(Math.min(...gap.perState) > -1e-12);
    // Strategies away from the equilibrium have a real gap: the references.
    const references = equilibrium.policies.map(() => ({ min: reference, max: reference }));
    assert.ok(nashGap(stages, references, LAMBDA).gap > 0.5);
  });

  it('its values equal the linear Bellman solution of its strategies with r and P written out, to 1e-8', () => {
    const centers = grid.centers;
    const states = 3;
    const rewards: number[] = [];
    const matrix: number[][] = [];
    for (let s = 0; s < states; s++) {
      const { min, max } = equilibrium.policies[s] as { min: Float64Array; max: Float64Array };
      let expected = 0;
      const next = [0, 0, 0];
      for (let i = 0; i < grid.size; i++) {
        const wx = min[i] as number;
        if (wx === 0) continue;
        for (let j = 0; j < grid.size; j++) {
          const w = wx * (max[j] as number);
          const x = centers[i] as number;
          const y = centers[j] as number;
          expected += w * reward(s, x, y);
          for (let t = 0; t < states; t++) next[t] = (next[t] as number) + w * transition(s, t, x, y);
        }
      }
      rewards.push(expected + LAMBDA * klDivergence(min, reference) - LAMBDA * klDivergence(max, reference));
      matrix.push(next.map((p, t) => (t === s ? 1 : 0) - GAMMA * p));
    }
    const values = solveLinear(matrix, rewards);
    values.forEach((value, s) => {
      assert.ok(
        Math.abs(value - (equilibrium.values[s] as number)) < 1e-8,
        `state ${s}: ${value} vs ${equilibrium.values[s]}`,
      );
    });
  });
});

describe('minimax.markov-game jobs', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));
  const { run, assertRefused } = jobApi(() => app, 120_000);
  const small = { particles: 500, steps: 2000, report_every: 200, grid: { cells: 480, bins: 24 } };

  for (const [algorithm, scored] of [
    [{ name: 'mfl-ag' }, 'weighted average of past measures'],
    [{ name: 'mfl-abr' }, 'last iterate'],
  ] as const) {
    it(`${algorithm.name.toUpperCase()} drives the exact Nash gap down to near its floor`, async () => {
      const done = await run('minimax.markov-game', { algorithm, ...small }, 3);
      const result = done.result;
      assert.equal(result.scored_measure, scored);
      assert.ok(result.ground_truth.converged);
      assert.ok(result.ground_truth.nash_gap < 1e-9);
      const reports: Array<{ step: number; nash_gap: number; value_error: number }> = result.reports;
      assert.equal(reports.length, 11);
      const first = reports[0]?.nash_gap as number;
      const tail = reports.slice(-3).map((report) => report.nash_gap);
      assert.ok(first > 1, `the start is far from the equilibrium: ${first}`);
      assert.ok(Math.max(...tail) < 0.1 * first, `gap ${first} → ${tail.join(', ')}`);
      assert.ok(
        Math.max(...tail) < 10 * result.floors.sampling,
        `gap ${tail.join(', ')} vs sampling floor ${result.floors.sampling}`,
      );
      assert.ok((reports.at(-1)?.value_error as number) < 0.05);
      await assertJobPlot(app, done, 'convergence.svg', {
        'Nash gap': reports.length,
        ...(algorithm.name === 'mfl-ag' ? { 'Nash gap, last iterate': reports.length } : {}),
        'sup |V − V*|': reports.length,
      });
    });
  }

  it('is reproducible by its seed', async () => {
    const params = {
      algorithm: { name: 'mfl-da' },
      particles: 200,
      steps: 200,
      report_every: 100,
      grid: { cells: 240, bins: 24 },
    };
    const [a, b, c] = await Promise.all([
      run('minimax.markov-game', params, 5),
      run('minimax.markov-game', params, 5),
      run('minimax.markov-game', params, 6),
    ]);
    assert.deepEqual(a.result.reports, b.result.reports);
    assert.notDeepEqual(a.result.reports, c.result.reports);
  });

  const base = { algorithm: { name: 'mfl-ag' } };
  for (const [what, params, path] of [
    ['an unknown game', { ...base, game: { name: 'chess' } }, '/body/params/game/name'],
    ['γ = 1', { ...base, game: { name: 'pursuit-3', discount: 1 } }, '/body/params/game/discount'],
    ['an unstable h', { ...base, h: 0.5 }, '/body/params/h'],
    ['particle-steps over the limit', { ...base, particles: 20_000, steps: 5000 }, '/body/params/steps'],
    ['too many reports', { ...base, steps: 4000, report_every: 10 }, '/body/params/report_every'],
    [
      'bins that do not divide the cells',
      { ...base, grid: { cells: 1200, bins: 7 } },
      '/body/params/grid/bins',
    ],
    ['no algorithm', { game: { name: 'pursuit-3' } }, '/body/params/algorithm'],
  ] as const) {
    it(`refuses ${what} at submit`, () => assertRefused('minimax.markov-game', params, path));
  }
});
