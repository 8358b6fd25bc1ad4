// mfg.finite benchmark: iterations per second of every game × algorithm (an iteration is one policy update
// plus the exploitability evaluation of the new policy, as MFGLib's solve() also scores every iterate), and
// the cost of one exploitability evaluation. With MFGLIB_SRC pointing at an MFGLib source tree (v0.3.0,
// runnable on Debian's python3-torch, see bench/mfglib_baseline.py), MFGLib float64 runs the same games and
// algorithms side by side and the table shows the ratio. Then mfg.graphex: hybrid mirror-descent iterations
// per second (core classes + every periphery degree, each iterate evaluated) and the cost of the N-agent
// simulation behind Δμ, per game and graph size; `--only graphex` runs that part alone. Then mfg.pma: exact
// PMA iterations per second (a step plus the exact evaluation of the new policy), the cost of one exact
// evaluation, and N-agent simulation speed in agent-steps per second; `--only pma` runs that part alone.
// PMA has no published implementation to run beside it.
//    npm run bench:mfg [-- --seconds 0.5] [--only graphex|pma]
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AlgorithmParams } from '../src/solvers/mfg/finite/algorithms.js';
import { createGame, type EnvParams } from '../src/solvers/mfg/finite/envs/index.js';
import { evaluate } from '../src/solvers/mfg/finite/evaluation.js';
import { uniformPolicy } from '../src/solvers/mfg/finite/policies.js';
import { solveFinite } from '../src/solvers/mfg/finite/solve.js';
import { solveHybrid } from '../src/solvers/mfg/graphex/hybrid.js';
import { measureDeltaMu } from '../src/solvers/mfg/graphex/measure.js';
import type { MfgGraphexParams } from '../src/solvers/mfg/graphex/params.js';
import { buildProblem } from '../src/solvers/mfg/graphex/problem.js';
import { createStationaryGame, type StationaryEnvParams } from '../src/solvers/mfg/stationary/envs.js';
import { evaluateStationary } from '../src/solvers/mfg/stationary/evaluation.js';
import { exactPma } from '../src/solvers/mfg/stationary/exact-pma.js';
import { nAgentPma } from '../src/solvers/mfg/stationary/n-agent-pma.js';

const { values: flags } = parseArgs({
  options: { seconds: { type: 'string', default: '0.5' }, only: { type: 'string' } },
});
const budgetMs = Number(flags.seconds) * 1000;

const GAMES: EnvParams[] = [
  { name: 'left_right' },
  { name: 'rock_paper_scissors' },
  { name: 'susceptible_infected' },
  { name: 'beach_bar' },
  { name: 'linear_quadratic' },
  { name: 'conservative_treasure_hunting' },
  { name: 'equilibrium_price' },
  { name: 'building_evacuation' },
  { name: 'crowd_modelling', openspiel_compat: true },
];
const ALGORITHMS: AlgorithmParams[] = [
  { name: 'online_mirror_descent' },
  { name: 'fictitious_play' },
  { name: 'prior_descent' },
  { name: 'fixed_point' },
  { name: 'boltzmann_policy_iteration' },
];

/** Runs `work(n)` with growing n until it takes a quarter of the budget, then times the budget. */
async function perSecond(work: (n: number) => Promise<void> | void): Promise<number> {
  let n = 1;
  for (;;) {
    const started = performance.now();
    await work(n);
    const elapsed = performance.now() - started;
    if (elapsed > budgetMs / 4) {
      const runs = Math.max(1, Math.round((n * budgetMs) / elapsed));
      const timed = performance.now();
      await work(runs);
      return runs / ((performance.now() - timed) / 1000);
    }
    n *= 4;
  }
}

/**
 * mfg.graphex on sampled graphexes (σ = 0.5, α* = 4, M = 4, k_max = 16, T = 50, seed 1): sampling, hybrid
 * mirror-descent iterations per second, and one simulated N-agent run (what each of Δμ's R runs costs).
 */
async function graphexTable(): Promise<void> {
  console.log(
    `\n# mfg.graphex — ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${budgetMs} ms per cell\n`,
  );
  const header = [
    'game',
    'ν',
    'vertices',
    'edges',
    'sample ms',
    'HOMD it/s',
    'ms / iteration',
    'simulation ms / run',
    'neighbour visits / µs',
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const name of ['sis', 'sir', 'rumor'] as const) {
    for (const size of [100, 200, 400]) {
      const params = {
        game: { name },
        graph: { kind: 'graphex', size, sigma: 0.5, core_label: 4 },
        core_classes: 4,
        max_degree: 16,
        iterations: 1,
        step: 1,
        periphery_policy: 'mirror_descent',
        runs: 1,
      } as MfgGraphexParams;
      const sampled = performance.now();
      const problem = buildProblem(params, 1);
      const sampleMs = performance.now() - sampled;
      const { game, graph, partition } = problem;
      const rate = await perSecond(async (n) => {
        await solveHybrid(game, partition, { iterations: n, step: 1, peripheryPolicy: 'mirror_descent' });
      });
      const solution = await solveHybrid(game, partition, {
        iterations: 1,
        step: 1,
        peripheryPolicy: 'mirror_descent',
      });
      const runs = await perSecond(async (n) => {
        await measureDeltaMu(problem, solution, n, 1);
      });
      const visits = (game.horizon - 1) * (graph.vertices + 2 * graph.edges);
      const cells = [
        name,
        String(size),
        String(graph.vertices),
        String(graph.edges),
        sampleMs.toFixed(0),
        rate.toFixed(0),
        (1000 / rate).toFixed(2),
        (1000 / runs).toFixed(1),
        ((visits * runs) / 1e6).toFixed(0),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
}

/** mfg.pma (γ = 0.9, λ = 0.1; η = 1, and 0.3 on the 20-position beach bar where η = 1 diverges). */
async function pmaTable(): Promise<void> {
  console.log(
    `\n# mfg.pma — ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${budgetMs} ms per cell\n`,
  );
  const header = [
    'game',
    'S × A',
    'evaluation µs',
    'exact it/s',
    'N = 100 agent-steps/s',
    'N = 1000 agent-steps/s',
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  const games: Array<[string, StationaryEnvParams, number]> = [
    ['susceptible_infected', { name: 'susceptible_infected' }, 1],
    ['beach_bar (4)', { name: 'beach_bar' }, 1],
    ['beach_bar (20)', { name: 'beach_bar', positions: 20, bar_location: 10 }, 0.3],
    ['beach_bar (100)', { name: 'beach_bar', positions: 100, bar_location: 50 }, 0.3],
  ];
  for (const [label, env, eta] of games) {
    const game = createStationaryGame(env, 0.9);
    const uniform = new Float64Array(game.states * game.actions).fill(1 / game.actions);
    const evaluations = await perSecond((n) => {
      for (let i = 0; i < n; i++) evaluateStationary(game, uniform, 0.1);
    });
    const iterations = await perSecond(async (n) => {
      // A negative tolerance never stops early: SIS reaches an exact float64 fixed point within ~300 steps.
      await exactPma(game, { eta, lambda: 0.1, iterations: n, tolerance: -1 });
    });
    const cells = [
      label,
      `${game.states} × ${game.actions}`,
      (1e6 / evaluations).toFixed(1),
      iterations.toFixed(0),
    ];
    for (const agents of [100, 1000]) {
      const steps = await perSecond(async (n) => {
        await nAgentPma(game, {
          agents,
          epochs: 1,
          stepsPerEpoch: n,
          eta,
          lambda: 0.1,
          rateScale: 50,
          ratePower: 0.6,
          seed: 1,
        });
      });
      cells.push((steps * agents).toExponential(2));
    }
    console.log(`| ${cells.join(' | ')} |`);
  }
}

if (flags.only === 'graphex') {
  await graphexTable();
  process.exit(0);
}
if (flags.only === 'pma') {
  await pmaTable();
  process.exit(0);
}

type Baseline = Record<string, Record<string, number>>;
function mfglibBaseline(): Baseline | undefined {
  const source = process.env.MFGLIB_SRC;
  if (source === undefined) return undefined;
  const script = fileURLToPath(new URL('./mfglib_baseline.py', import.meta.url));
  const output = execFileSync('/usr/bin/python3', [script, source, String(Number(flags.seconds))], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output) as Baseline;
}

const baseline = mfglibBaseline();
console.log(`# mfg.finite — ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${budgetMs} ms per cell`);
console.log(
  baseline === undefined
    ? '\n(no MFGLIB_SRC: meanserve only)\n'
    : '\nMFGLib v0.3.0 float64, torch threads 1, same machine, run just before.\n',
);
const header = ['game', 'cells (T+1)·S·A', 'evaluation µs', ...ALGORITHMS.map((a) => `${a.name} it/s`)];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const env of GAMES) {
  const game = createGame(env);
  const label = env.name + ('openspiel_compat' in env ? ' (compat)' : '');
  const policy = uniformPolicy((game.horizon + 1) * game.states, game.actions);
  const evaluations = await perSecond((n) => {
    for (let i = 0; i < n; i++) evaluate(game, policy);
  });
  const cells = [
    label,
    String((game.horizon + 1) * game.states * game.actions),
    (1e6 / evaluations).toFixed(1),
  ];
  const theirs = baseline?.[env.name];
  if (theirs?.evaluation !== undefined)
    cells[2] += ` (MFGLib ${(1e6 / theirs.evaluation).toFixed(0)}, ×${(evaluations / theirs.evaluation).toFixed(0)})`;
  for (const algorithm of ALGORITHMS) {
    const rate = await perSecond(async (n) => {
      await solveFinite(game, { algorithm, iterations: n, atol: 0, rtol: 0, ties: 'uniform' });
    });
    const other = theirs?.[algorithm.name];
    cells.push(
      other === undefined
        ? rate.toFixed(0)
        : `${rate.toFixed(0)} (MFGLib ${other.toFixed(1)}, ×${(rate / other).toFixed(0)})`,
    );
  }
  console.log(`| ${cells.join(' | ')} |`);
}

await graphexTable();
await pmaTable();
