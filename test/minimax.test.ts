// Numerics of the minimax jobs, against independent computations: the feature kernels against the direct
// pairwise form of every objective, the grid equilibrium's residual and NI, the NI closed form against a
// brute-force maximisation of the regularised objective, W1 against known transports, and the exponential fit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../src/lib/random.js';
import { fitExponentialDecay } from '../src/solvers/minimax/exponential-fit.js';
import { klDivergence } from '../src/solvers/minimax/gibbs.js';
import { boxGrid, gaussianReference, torusGrid, uniformReference } from '../src/solvers/minimax/grid.js';
import { createGridGame, gridFeatureMeans } from '../src/solvers/minimax/grid-game.js';
import { solveGridEquilibrium } from '../src/solvers/minimax/ground-truth.js';
import { coarsen, particleMeasure } from '../src/solvers/minimax/histogram.js';
import {
  bilinearValue,
  createTrigTable,
  featureMeans,
  fillTrig,
  firstVariationCoefficients,
  potentialGradients,
} from '../src/solvers/minimax/kernels.js';
import { niError, unregularisedNi } from '../src/solvers/minimax/nikaido-isoda.js';
import {
  type BilinearObjective,
  createObjective,
  featureCount,
  gradientLipschitz,
  type ObjectiveParams,
} from '../src/solvers/minimax/objectives.js';
import { w1Box, w1Circle, w1Line } from '../src/solvers/minimax/wasserstein.js';

const OBJECTIVES: ObjectiveParams[] = [
  { name: 'mm1d' },
  { name: 'mm2d' },
  {
    name: 'features',
    dimension: 2,
    frequencies: [
      [1, 0],
      [0.5, -2],
    ],
    coefficients: [
      [0, 0.3, -0.2, 0.1, 0],
      [0.4, 1, 0, 0.2, -0.5],
      [0, 0, 1, 0, 0.7],
      [-0.3, 0.1, 0, -1, 0],
      [0.2, 0, 0.6, 0, 0.3],
    ],
  },
];

/** ∇ of the first variation at every particle, averaging the direct ∇Q over all pairs: O(N²), no features. */
function pairwiseDrift(
  objective: BilinearObjective,
  at: Float64Array,
  other: Float64Array,
  player: 'min' | 'max',
) {
  const d = objective.dimension;
  const n = at.length / d;
  const m = other.length / d;
  const out = new Float64Array(n * d);
  const gradient = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const here = at.subarray(i * d, (i + 1) * d);
      const there = other.subarray(j * d, (j + 1) * d);
      if (player === 'min') objective.gradientX(here, there, gradient);
      else objective.gradientY(there, here, gradient);
      for (let c = 0; c < d; c++) out[i * d + c] = (out[i * d + c] as number) + (gradient[c] as number) / m;
    }
  }
  return out;
}

function featureDrift(
  objective: BilinearObjective,
  at: Float64Array,
  other: Float64Array,
  player: 'min' | 'max',
) {
  const d = objective.dimension;
  const n = at.length / d;
  const m = other.length / d;
  const otherTable = createTrigTable(objective, m);
  fillTrig(objective, other, m, otherTable);
  const means = new Float64Array(featureCount(objective));
  featureMeans(objective, otherTable, m, means);
  const coefficients = new Float64Array(featureCount(objective));
  firstVariationCoefficients(objective, means, player, coefficients);
  const table = createTrigTable(objective, n);
  fillTrig(objective, at, n, table);
  const out = new Float64Array(n * d);
  potentialGradients(objective, table, n, coefficients, out);
  return out;
}

const randomPoints = (random: Random, count: number) =>
  Float64Array.from({ length: count }, () => 2 * random.nextNormal());

describe('minimax objectives and kernels', () => {
  for (const params of OBJECTIVES) {
    it(`${params.name}: the O(N·K) feature drift and L equal the direct pairwise sums`, () => {
      const objective = createObjective(params);
      const random = new Random(3);
      const x = randomPoints(random, 40 * objective.dimension);
      const y = randomPoints(random, 30 * objective.dimension);
      for (const [player, at, other] of [
        ['min', x, y],
        ['max', y, x],
      ] as const) {
        const direct = pairwiseDrift(objective, at, other, player);
        const fast = featureDrift(objective, at, other, player);
        for (let i = 0; i < direct.length; i++)
          assert.ok(Math.abs((direct[i] as number) - (fast[i] as number)) < 1e-12);
      }
      let pairwise = 0;
      const d = objective.dimension;
      for (let i = 0; i < 40; i++)
        for (let j = 0; j < 30; j++)
          pairwise += objective.value(x.subarray(i * d, i * d + d), y.subarray(j * d, j * d + d)) / 1200;
      const means = (points: Float64Array, count: number) => {
        const table = createTrigTable(objective, count);
        fillTrig(objective, points, count, table);
        const out = new Float64Array(featureCount(objective));
        featureMeans(objective, table, count, out);
        return out;
      };
      assert.ok(Math.abs(bilinearValue(objective, means(x, 40), means(y, 30)) - pairwise) < 1e-12);
    });
  }

  it('MM1D written as a features objective is MM1D, and its gradient bound is 2.5', () => {
    const mm1d = createObjective({ name: 'mm1d' });
    const asFeatures = createObjective({
      name: 'features',
      dimension: 1,
      frequencies: [[1]],
      coefficients: [
        [0, 0, 0],
        [0, 1, 0],
        [0.5, 0, 1],
      ],
    });
    for (const [x, y] of [
      [0.3, -1.2],
      [2, 5],
      [-4, 0.1],
    ] as const) {
      assert.ok(Math.abs(mm1d.value([x], [y]) - asFeatures.value([x], [y])) < 1e-15);
      assert.ok(Math.abs(mm1d.value([x], [y]) - (Math.cos(x - y) + 0.5 * Math.sin(x))) < 1e-15);
    }
    assert.equal(gradientLipschitz(mm1d), 2.5);
    assert.equal(asFeatures.periodic, true);
  });
});

describe('minimax grid ground truth and NI', () => {
  const objective = createObjective({ name: 'mm1d' });
  const grid = boxGrid(1, 1200, 6);
  const reference = gaussianReference(grid, 1);
  const game = createGridGame(objective, grid, reference, reference);
  const equilibrium = solveGridEquilibrium(game, { temperature: 0.1 });

  it('solves MM1D (λ = 0.1, 1 200 cells on [−6, 6]) to a residual below 1e-10 with NI ≈ 0', () => {
    assert.ok(equilibrium.converged);
    assert.ok(equilibrium.residual < 1e-10, `residual ${equilibrium.residual}`);
    assert.ok(equilibrium.fixedPointResidual < 1e-8);
    const ni = niError(game, equilibrium, 0.1);
    assert.ok(Math.abs(ni) < 1e-12, `NI ${ni}`);
    // Binning the solution into the 48 histogram bins the jobs use moves NI only a little: the NI floor.
    const binned = niError(
      game,
      { min: coarsen(grid, equilibrium.min, 48), max: coarsen(grid, equilibrium.max, 48) },
      0.1,
    );
    assert.ok(binned > 0 && binned < 2e-3, `binned NI ${binned}`);
  });

  it('agrees with a brute-force maximisation of L_λ over grid measures for a perturbed pair', () => {
    // A coarser grid keeps the direct Q matrix small; the pair is the equilibrium, tilted.
    const small = boxGrid(1, 240, 6);
    const ref = gaussianReference(small, 1);
    const smallGame = createGridGame(objective, small, ref, ref);
    const lambda = 0.1;
    const solution = solveGridEquilibrium(smallGame, { temperature: lambda });
    const tilt = (w: Float64Array, phase: number) => {
      const out = Float64Array.from(
        w,
        (v, i) => v * (1 + 0.6 * Math.sin((small.centers[i] as number) + phase)),
      );
      const total = out.reduce((s, v) => s + v, 0);
      return out.map((v) => v / total);
    };
    const mu = tilt(solution.min, 0.4);
    const nu = tilt(solution.max, -1.1);
    const size = small.size;
    const q = new Float64Array(size * size);
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        q[i * size + j] = objective.value([small.centers[i] as number], [small.centers[j] as number]);
    const value = (m: Float64Array, n: Float64Array) => {
      let sum = 0;
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++)
          sum += (m[i] as number) * (q[i * size + j] as number) * (n[j] as number);
      return sum + lambda * klDivergence(m, ref) - lambda * klDivergence(n, ref);
    };
    // Exponentiated-gradient ascent (descent) on the simplex, with the gradient of L_λ itself: it converges to
    // the optimum without being told that the optimum is a Gibbs measure (contraction 1 − 2λ = 0.8 a step).
    const optimise = (sign: 1 | -1, fixed: Float64Array, player: 'min' | 'max') => {
      let w = Float64Array.from(ref);
      for (let iteration = 0; iteration < 400; iteration++) {
        const next = new Float64Array(size);
        let total = 0;
        for (let i = 0; i < size; i++) {
          let linear = 0;
          for (let j = 0; j < size; j++)
            linear +=
              (player === 'max' ? (q[j * size + i] as number) : (q[i * size + j] as number)) *
              (fixed[j] as number);
          const entropyGradient = lambda * (Math.log((w[i] as number) / (ref[i] as number)) + 1);
          const gradient = player === 'max' ? linear - entropyGradient : linear + entropyGradient;
          next[i] = (w[i] as number) * Math.exp(sign * 2 * gradient);
          total += next[i] as number;
        }
        w = next.map((v) => v / total);
      }
      return w;
    };
    const bestNu = optimise(1, mu, 'max');
    const bestMu = optimise(-1, nu, 'min');
    const bruteForce = value(mu, bestNu) - value(bestMu, nu);
    const closedForm = niError(smallGame, { min: mu, max: nu }, lambda);
    assert.ok(closedForm > 1e-3, `the perturbed pair is far from equilibrium (${closedForm})`);
    assert.ok(
      Math.abs(bruteForce - closedForm) < 1e-9,
      `brute force ${bruteForce}, closed form ${closedForm}`,
    );
    // Any other grid measure does no better than the maximiser.
    assert.ok(value(mu, nu) <= value(mu, bestNu) + 1e-12);
    assert.ok(value(mu, nu) >= value(bestMu, nu) - 1e-12);
  });

  it('the unregularised NI of a point pair is the max/min of Q over the grid', () => {
    const torus = torusGrid(1, 360);
    const uniform = uniformReference(torus);
    const torusGame = createGridGame(objective, torus, uniform, uniform);
    const at = (x: number) => {
      const w = new Float64Array(torus.size);
      w[Math.floor(x / torus.cellWidth)] = 1;
      return w;
    };
    const mu = at(1);
    const nu = at(4);
    const xs = torus.centers;
    const x0 = xs[Math.floor(1 / torus.cellWidth)] as number;
    const y0 = xs[Math.floor(4 / torus.cellWidth)] as number;
    let largest = -Infinity;
    let smallest = Infinity;
    for (const z of xs) {
      largest = Math.max(largest, objective.value([x0], [z]));
      smallest = Math.min(smallest, objective.value([z], [y0]));
    }
    const ni = unregularisedNi(torusGame, gridFeatureMeans(torusGame, mu), gridFeatureMeans(torusGame, nu));
    assert.ok(Math.abs(ni - (largest - smallest)) < 1e-12);
  });

  it('binning particles keeps their mass and the histogram of N(0, 1) samples has a small NI-style KL', () => {
    const random = new Random(5);
    const points = Float64Array.from({ length: 4000 }, () => random.nextNormal());
    const measure = particleMeasure(grid, points, 4000);
    const binned = coarsen(grid, measure, 48);
    assert.ok(Math.abs(binned.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.ok(klDivergence(binned, reference) < 0.01);
  });
});

describe('minimax W1', () => {
  it('is the shift between a set and its translate on the line', () => {
    const random = new Random(9);
    const a = Float64Array.from({ length: 500 }, () => random.nextNormal());
    const b = a.map((v) => v + 0.3);
    assert.ok(Math.abs(w1Line({ positions: a }, { positions: b }) - 0.3) < 1e-12);
    assert.ok(Math.abs(w1Box(1, { points: a }, { points: b }) - 0.3) < 1e-12);
  });

  it('on the circle goes the short way round and is a rotation angle for an even spread', () => {
    // Mass at 0.1 and at 2π − 0.1: 6.08 apart on the line, 0.2 on the circle.
    assert.ok(
      Math.abs(
        w1Circle({ positions: Float64Array.of(0.1) }, { positions: Float64Array.of(2 * Math.PI - 0.1) }) -
          0.2,
      ) < 1e-12,
    );
    const n = 100;
    const even = Float64Array.from({ length: n }, (_, i) => (2 * Math.PI * i) / n);
    const turned = even.map((v) => v + 0.01);
    assert.ok(Math.abs(w1Circle({ positions: even }, { positions: turned }) - 0.01) < 1e-12);
  });

  it('weighted grid atoms against their own samples shrink like 1/√N', () => {
    const grid = boxGrid(1, 600, 6);
    const weights = gaussianReference(grid, 1);
    const random = new Random(11);
    const floor = (count: number) => {
      const points = Float64Array.from({ length: count }, () => random.nextNormal());
      return w1Box(1, { points }, { points: grid.centers, weights });
    };
    const small = floor(400);
    const large = floor(25_600);
    assert.ok(large < small / 4, `${small} → ${large}`);
  });
});

describe('minimax exponential fit', () => {
  it('recovers the rate of e^{−0.7t} above a floor', () => {
    const times = Array.from({ length: 60 }, (_, i) => i * 0.5);
    const values = times.map((t, i) => 2 * Math.exp(-0.7 * t) + 1e-4 * (1 + 0.1 * Math.sin(i)));
    const fit = fitExponentialDecay(times, values);
    assert.ok(fit !== undefined);
    assert.ok(Math.abs(fit.rate - 0.7) < 0.02, `rate ${fit.rate}`);
    assert.ok(fit.r_squared > 0.999);
  });
});
