// The Δμ table of docs/mfg.md (mfg.graphex): for each game and graph size ν, the job's defaults (σ = 0.5,
// α* = 4, M = 4, k_max = 16, T = 50, 200 iterations of step 1, periphery by mirror descent, R = 10 runs)
// on three sampled graphs (seeds 1, 2, 3), exactly as the job computes them. Prints a Markdown table:
// Δμ overall, core and periphery (mean over the three graphs, and the spread), core exploitability
// (last and minimum over the iterations) and the vertex-weighted periphery exploitability.
//    npx tsx scripts/graphex-delta-mu.ts [--sizes 50,100,200,400] [--seeds 3]
import { parseArgs } from 'node:util';
import { solveHybrid } from '../src/solvers/mfg/graphex/hybrid.js';
import { measureDeltaMu } from '../src/solvers/mfg/graphex/measure.js';
import type { MfgGraphexParams } from '../src/solvers/mfg/graphex/params.js';
import { buildProblem } from '../src/solvers/mfg/graphex/problem.js';

const { values: flags } = parseArgs({
  options: { sizes: { type: 'string', default: '50,100,200,400' }, seeds: { type: 'string', default: '3' } },
});
const sizes = (flags.sizes as string).split(',').map(Number);
const seeds = Array.from({ length: Number(flags.seeds) }, (_, i) => i + 1);

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const format = (values: number[]) =>
  `${mean(values).toFixed(4)} (${Math.min(...values).toFixed(4)}–${Math.max(...values).toFixed(4)})`;

const header = [
  'game',
  'ν',
  'vertices',
  'edges',
  'Δμ overall',
  'Δμ core',
  'Δμ periphery',
  'core expl. last / min',
  'periphery expl.',
];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const name of ['sis', 'sir', 'rumor'] as const) {
  for (const size of sizes) {
    const rows = { vertices: [] as number[], edges: [] as number[], overall: [] as number[] };
    const core: number[] = [];
    const periphery: number[] = [];
    let exploitability = { last: 0, min: 0, periphery: 0 };
    for (const seed of seeds) {
      const params = {
        game: { name },
        graph: { kind: 'graphex', size, sigma: 0.5, core_label: 4 },
        core_classes: 4,
        max_degree: 16,
        iterations: 200,
        step: 1,
        periphery_policy: 'mirror_descent',
        runs: 10,
      } as MfgGraphexParams;
      const problem = buildProblem(params, seed);
      const solution = await solveHybrid(problem.game, problem.partition, {
        iterations: params.iterations,
        step: params.step,
        peripheryPolicy: params.periphery_policy,
      });
      const measured = await measureDeltaMu(problem, solution, params.runs, seed);
      rows.vertices.push(problem.graph.vertices);
      rows.edges.push(problem.graph.edges);
      rows.overall.push(measured.mean.overall as number);
      if (measured.mean.core !== null) core.push(measured.mean.core);
      if (measured.mean.periphery !== null) periphery.push(measured.mean.periphery);
      exploitability = {
        last: solution.coreExploitability.at(-1) as number,
        min: Math.min(...solution.coreExploitability),
        periphery: solution.final.peripheryExploitability,
      };
    }
    const cells = [
      name,
      String(size),
      mean(rows.vertices).toFixed(0),
      mean(rows.edges).toFixed(0),
      format(rows.overall),
      core.length > 0 ? format(core) : '—',
      periphery.length > 0 ? format(periphery) : '—',
      `${exploitability.last.toExponential(1)} / ${exploitability.min.toExponential(1)}`,
      exploitability.periphery.toExponential(1),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
