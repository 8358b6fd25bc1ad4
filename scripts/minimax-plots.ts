// Runs the minimax processors at the docs' scale (N = 2000 particles per player, seed 1) and writes their
// report series to docs/minimax-runs.json; scripts/minimax_plots.py draws the PNGs of docs/minimax.md from it.
//    npx tsx scripts/minimax-plots.ts && /usr/bin/python3 scripts/minimax_plots.py
import { writeFileSync } from 'node:fs';
import type { Processor } from '../src/jobs/processor.js';
import { minimaxMfl } from '../src/jobs/processors/minimax-mfl.js';
import { minimaxTwoScaleGda } from '../src/jobs/processors/minimax-two-scale-gda.js';

const MM1D = { name: 'mm1d' };
const mflCommon = {
  objective: MM1D,
  lambda: 0.1,
  particles: 2000,
  h: 0.05,
  steps: 20_000,
  report_every: 200,
};
const gdaCommon = { objective: MM1D, eta: 2, h: 0.02, particles: 2000 };

const RUNS: Array<[string, Processor<never>, Record<string, unknown>]> = [
  ['mfl-da', minimaxMfl, { ...mflCommon, algorithm: { name: 'mfl-da' } }],
  ['mfl-ag r=1', minimaxMfl, { ...mflCommon, algorithm: { name: 'mfl-ag', r: 1 } }],
  ['mfl-ag r=0.5', minimaxMfl, { ...mflCommon, algorithm: { name: 'mfl-ag', r: 0.5 } }],
  ...[1, 0.5, 0.25, 0.1].map(
    (beta) =>
      [
        `mfl-abr beta=${beta}`,
        minimaxMfl,
        { ...mflCommon, algorithm: { name: 'mfl-abr', inner: 50, beta } },
      ] as [string, Processor<never>, Record<string, unknown>],
  ),
  ...[0.1, 0.2, 0.3].map(
    (tau) =>
      [`two-scale tau=${tau}`, minimaxTwoScaleGda, { ...gdaCommon, tau, steps: 2000, report_every: 10 }] as [
        string,
        Processor<never>,
        Record<string, unknown>,
      ],
  ),
  [
    'two-scale eta=1 tau=0.3',
    minimaxTwoScaleGda,
    { ...gdaCommon, eta: 1, tau: 0.3, steps: 2000, report_every: 10 },
  ],
  [
    'two-scale eta=8 tau=0.3',
    minimaxTwoScaleGda,
    { ...gdaCommon, eta: 8, tau: 0.3, steps: 2000, report_every: 10 },
  ],
  [
    'two-scale annealed C=0.6',
    minimaxTwoScaleGda,
    { ...gdaCommon, annealing: { constant: 0.6 }, steps: 20_000, report_every: 250 },
  ],
  [
    'two-scale fixed tau=0.6',
    minimaxTwoScaleGda,
    { ...gdaCommon, tau: 0.6, steps: 20_000, report_every: 250 },
  ],
];

const output: Record<string, unknown> = {};
for (const [name, processor, params] of RUNS) {
  const started = performance.now();
  const { result } = await processor(params as never, {
    seed: 1,
    progress: () => {},
    signal: new AbortController().signal,
    models: {} as never,
  });
  const { histograms: _histograms, ...rest } = result as Record<string, unknown>;
  output[name] = { params, ...rest };
  const summary = rest as {
    final: Record<string, number>;
    ground_truth: Record<string, unknown>;
    exponential_fit?: Record<string, number>;
    w1_sampling_floor: Record<string, number>;
  };
  console.log(
    `${name}: ${((performance.now() - started) / 1000).toFixed(1)} s; final ${JSON.stringify(summary.final)}; ` +
      `floor ${JSON.stringify(summary.w1_sampling_floor)}` +
      (summary.exponential_fit === undefined ? '' : `; fit ${JSON.stringify(summary.exponential_fit)}`),
  );
}
// Six significant digits are plenty for plots and keep the file small.
const rounded = JSON.stringify(output, (_key, value) =>
  typeof value === 'number' && Number.isFinite(value) ? Number(value.toPrecision(6)) : value,
);
writeFileSync(new URL('../docs/minimax-runs.json', import.meta.url), `${rounded}\n`);
