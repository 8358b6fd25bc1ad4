// minimax benchmark: particle-steps per second (N particles per player × Langevin steps; one step moves both
// players) of every algorithm at N = 2000 on MM1D, the dynamics alone, with a naive baseline in the same run:
// MFL-DA with the drift summed over all N² pairs of the direct ∇Q (what the feature kernels avoid), and the
// ratio. Also the cost of the job's fixed parts: the grid ground truth and one report (NI, W1, histograms).
//    npm run bench:minimax [-- --seconds 2 --particles 2000]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Random } from '../src/lib/random.js';
import { boxGrid, gaussianReference } from '../src/solvers/minimax/grid.js';
import { createGridGame } from '../src/solvers/minimax/grid-game.js';
import { solveGridEquilibrium } from '../src/solvers/minimax/ground-truth.js';
import { type MflAlgorithm, MflDynamics } from '../src/solvers/minimax/mfl.js';
import {
  type BilinearObjective,
  createObjective,
  type ObjectiveParams,
} from '../src/solvers/minimax/objectives.js';
import { scoreParticles } from '../src/solvers/minimax/score.js';
import { TwoScaleGda } from '../src/solvers/minimax/two-scale-gda.js';

const { values: flags } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, particles: { type: 'string', default: '2000' } },
});
const budgetMs = Number(flags.seconds) * 1000;
const particles = Number(flags.particles);
const LAMBDA = 0.1;
const H = 0.05;

interface Stepper {
  readonly steps: number;
  advance(untilStep: number): void;
}

/** Steps per second of `stepper`, after a warm-up of a tenth of the budget. */
function stepsPerSecond(stepper: Stepper): number {
  let started = performance.now();
  while (performance.now() - started < budgetMs / 10) stepper.advance(stepper.steps + 1);
  const from = stepper.steps;
  started = performance.now();
  while (performance.now() - started < budgetMs) stepper.advance(stepper.steps + 1);
  return (stepper.steps - from) / ((performance.now() - started) / 1000);
}

/** MFL-DA with the drift of every particle averaged over all pairs of the direct ∇Q: O(N²) a step. */
class PairwiseDescentAscent implements Stepper {
  steps = 0;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly driftX: Float64Array;
  private readonly driftY: Float64Array;
  /** Each particle's coordinates as a view, made once (the direct ∇Q takes one point at a time). */
  private readonly pointsX: Float64Array[];
  private readonly pointsY: Float64Array[];

  constructor(
    private readonly objective: BilinearObjective,
    count: number,
    private readonly random: Random,
  ) {
    const d = objective.dimension;
    this.x = Float64Array.from({ length: count * d }, () => random.nextNormal());
    this.y = Float64Array.from({ length: count * d }, () => random.nextNormal());
    this.driftX = new Float64Array(count * d);
    this.driftY = new Float64Array(count * d);
    this.pointsX = Array.from({ length: count }, (_, i) => this.x.subarray(i * d, i * d + d));
    this.pointsY = Array.from({ length: count }, (_, i) => this.y.subarray(i * d, i * d + d));
  }

  advance(untilStep: number): void {
    const d = this.objective.dimension;
    const count = this.x.length / d;
    const gradient = new Float64Array(d);
    const noise = Math.sqrt(2 * LAMBDA * H);
    while (this.steps < untilStep) {
      this.driftX.fill(0);
      this.driftY.fill(0);
      for (let i = 0; i < count; i++) {
        const xi = this.pointsX[i] as Float64Array;
        for (let j = 0; j < count; j++) {
          const yj = this.pointsY[j] as Float64Array;
          this.objective.gradientX(xi, yj, gradient);
          for (let c = 0; c < d; c++)
            this.driftX[i * d + c] = (this.driftX[i * d + c] as number) + (gradient[c] as number);
          this.objective.gradientY(xi, yj, gradient);
          for (let c = 0; c < d; c++)
            this.driftY[j * d + c] = (this.driftY[j * d + c] as number) + (gradient[c] as number);
        }
      }
      for (let i = 0; i < this.x.length; i++) {
        const x = this.x[i] as number;
        const y = this.y[i] as number;
        this.x[i] =
          x - H * ((this.driftX[i] as number) / count + LAMBDA * x) + noise * this.random.nextNormal();
        this.y[i] =
          y + H * ((this.driftY[i] as number) / count - LAMBDA * y) + noise * this.random.nextNormal();
      }
      this.steps++;
    }
  }
}

const MM1D: ObjectiveParams = { name: 'mm1d' };
const objective = createObjective(MM1D);
const grid = boxGrid(1, 1200, 6);
const reference = gaussianReference(grid, 1);
const mfl = (algorithm: MflAlgorithm) =>
  new MflDynamics(
    { objective, algorithm, lambda: LAMBDA, referenceStd: { min: 1, max: 1 }, particles, h: H, grid },
    new Random(1),
  );

console.log(
  `# minimax — ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, node ${process.version}, N = ${particles} per player, ` +
    `${budgetMs} ms per row, MM1D, λ = ${LAMBDA}, h = ${H}\n`,
);
const baseline = stepsPerSecond(new PairwiseDescentAscent(objective, particles, new Random(1)));
const rows: Array<[string, Stepper]> = [
  ['mfl-da', mfl({ name: 'mfl-da' })],
  ['mfl-ag (r = 1)', mfl({ name: 'mfl-ag', r: 1 })],
  ['mfl-abr (inner 50, β = 0.25)', mfl({ name: 'mfl-abr', inner: 50, beta: 0.25 })],
  [
    'two-scale GDA (τ = 0.1, η = 4, torus)',
    new TwoScaleGda({ objective, particles, h: 0.02, eta: 4, temperature: { fixed: 0.1 } }, new Random(1)),
  ],
];
const header = ['algorithm', 'particle-steps/s', 'steps/s', '× pairwise O(N²) MFL-DA'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
const format = (value: number) => Math.round(value).toLocaleString('en-US').replaceAll(',', ' ');
for (const [name, stepper] of rows) {
  const rate = stepsPerSecond(stepper);
  console.log(
    `| ${name} | ${format(rate * particles)} | ${format(rate)} | ${(rate / baseline).toFixed(0)} |`,
  );
}
console.log(
  `| baseline: mfl-da, pairwise ∇Q | ${format(baseline * particles)} | ${baseline.toFixed(1)} | 1 |`,
);

const game = createGridGame(objective, grid, reference, reference);
let started = performance.now();
const equilibrium = solveGridEquilibrium(game, { temperature: LAMBDA });
const groundTruthMs = performance.now() - started;
const dynamics = mfl({ name: 'mfl-da' });
dynamics.advance(100);
started = performance.now();
const reports = 20;
for (let i = 0; i < reports; i++)
  scoreParticles({ game, equilibrium, temperature: LAMBDA, binsPerAxis: 48 }, dynamics.min, dynamics.max);
const reportMs = (performance.now() - started) / reports;
console.log(
  `\nGrid ground truth (1 200 cells, residual ${equilibrium.residual.toExponential(1)}, ${equilibrium.iterations} iterations): ` +
    `${groundTruthMs.toFixed(0)} ms. One report (NI, W1 of both players, L, L_λ): ${reportMs.toFixed(1)} ms.`,
);
