// The tables of docs/feat.md: feat.free-energy runs (through the job's processor, onnxruntime-node for the
// learned transports) over several seeds, FEAT beside the classical baselines at equal evaluation budgets
// (baselines.budget = evaluations), and the φ⁴ symmetric-umbrella estimate with its CI.
//    npx tsx scripts/feat-table.ts [--seeds 5] [--only gmm|phi4|dw4|gaussian] [--paths 1000 --steps 100]
// (--paths: N_F = N_R, the paths each way; --steps: K, which AIS shares, so its budget follows FEAT's.)
import { parseArgs } from 'node:util';
import { featFreeEnergy } from '../src/jobs/processors/feat-free-energy.js';
import type { FeatParams } from '../src/solvers/feat/params.js';

const { values: flags } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    only: { type: 'string' },
    paths: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '100' },
  },
});
const seeds = Array.from({ length: Number(flags.seeds) }, (_, i) => i + 1);
const models = {
  modelsDir: new URL('../models/', import.meta.url).pathname,
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  fashionMnistDir: '',
  modelRepositoryDir: '/nonexistent',
};

// biome-ignore lint/suspicious/noExplicitAny: the result is plain JSON read field by field
async function run(params: Record<string, unknown>, seed: number): Promise<any> {
  const output = await featFreeEnergy(params as FeatParams, {
    seed,
    progress: () => {},
    signal: new AbortController().signal,
    models,
  });
  return output.result;
}

interface Row {
  method: string;
  values: number[];
  widths: number[];
  evaluations: number;
  ms: number[];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sd = (values: number[]) =>
  Math.sqrt(
    mean(values.map((v) => (v - mean(values)) ** 2)) * (values.length / Math.max(1, values.length - 1)),
  );
const f = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

function table(rows: Row[], exact: number) {
  console.log(
    '| method | evaluations | ΔF mean ± sd over seeds | mean abs error | mean 95 % CI width | wall s |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const errors = row.values.map((v) => Math.abs(v - exact));
    console.log(
      `| ${row.method} | ${row.evaluations} | ${f(mean(row.values))} ± ${f(sd(row.values))} | ${f(mean(errors))} | ${f(mean(row.widths))} | ${Number.isNaN(mean(row.ms)) ? '—' : f(mean(row.ms) / 1000, 1)} |`,
    );
  }
}

async function comparison(
  name: string,
  system: Record<string, unknown>,
  transports: Array<Record<string, unknown>>,
  extra: Record<string, unknown>,
  budget: 'samples' | 'evaluations' = 'evaluations',
) {
  const rows = new Map<string, Row>();
  const add = (
    method: string,
    estimate: { delta_f: number; ci: [number, number] },
    evaluations: number,
    ms: number,
  ) => {
    const row = rows.get(method) ?? { method, values: [], widths: [], evaluations, ms: [] };
    row.values.push(estimate.delta_f);
    row.widths.push(estimate.ci[1] - estimate.ci[0]);
    row.ms.push(ms);
    rows.set(method, row);
  };
  let exact = 0;
  const baselineMs: number[] = [];
  for (const seed of seeds) {
    for (const [t, transport] of transports.entries()) {
      const result = await run(
        { system, transport, ...extra, baselines: { enabled: t === 0, budget } },
        seed,
      );
      exact = result.reference.delta_f;
      const label = `FEAT (${transport.kind}${transport.model ? ` ${transport.model}` : ''})`;
      const ms = result.wall_ms.feat;
      add(`${label} BAR`, result.estimates.bar, result.evaluations.total, ms);
      add(`${label} forward`, result.estimates.forward, result.evaluations.total, ms);
      add(`${label} reverse`, result.estimates.reverse, result.evaluations.total, ms);
      if (t === 0) {
        const b = result.baselines;
        const endpointMs = Number.NaN; // the baselines share one wall time, printed under the table
        baselineMs.push(result.wall_ms.baselines);
        add('FEP a → b', b.fep_forward, b.fep_forward.samples, endpointMs);
        add('FEP b → a', b.fep_reverse, b.fep_reverse.samples, endpointMs);
        add('equilibrium BAR', b.bar_equilibrium, b.endpoint_evaluations, endpointMs);
        add('AIS forward (MALA)', b.ais_forward, b.ais_evaluations, endpointMs);
        add('AIS reverse (MALA)', b.ais_reverse, b.ais_evaluations, endpointMs);
        add('AIS non-equilibrium BAR', b.ais_bar, b.ais_evaluations, endpointMs);
        add(`TI (${b.ti.windows.length} Gauss–Legendre windows)`, b.ti, b.ti_evaluations, endpointMs);
      }
      console.error(
        `${name} seed ${seed} ${label}: BAR ${f(result.estimates.bar.delta_f)} [${f(result.estimates.bar.ci[0])}, ${f(result.estimates.bar.ci[1])}] ESS/N ${f(result.ess.forward_fraction)}`,
      );
    }
  }
  console.log(
    `\n### ${name} (exact ΔF = ${f(exact, 4)}; ${seeds.length} seeds; ${JSON.stringify(extra)}; baselines.budget ${budget})\n`,
  );
  table([...rows.values()], exact);
  console.log(`\nAll baselines together: ${f(mean(baselineMs) / 1000, 1)} s per seed (bootstrap included).`);
}

const paths = Number(flags.paths);
const settings = { n_forward: paths, n_reverse: paths, steps: Number(flags.steps), eps: 0.01 };
if (flags.only === undefined || flags.only === 'gmm') {
  await comparison(
    'GMM pair (d = 10)',
    { name: 'gmm' },
    [{ kind: 'learned', model: 'feat-gmm' }, { kind: 'none' }],
    settings,
  );
}
if (flags.only === undefined || flags.only === 'phi4') {
  await comparison(
    'φ⁴ symmetric umbrellas (8 × 8, β = −2, γ = 12.8, κ = 5, c = ±0.6)',
    { name: 'phi4_umbrella' },
    [{ kind: 'learned', model: 'feat-phi4-umbrella' }, { kind: 'none' }],
    settings,
    // Equal-evaluation FEP would need 101 000 MALA chains per window; FEP and BAR get FEAT's end samples.
    'samples',
  );
}
if (flags.only === undefined || flags.only === 'dw4') {
  await comparison(
    'DW-4 (4 particles in 2-D, harmonic κ = 0.25, double well switched on)',
    { name: 'dw4' },
    [{ kind: 'learned', model: 'feat-dw4' }, { kind: 'none' }],
    settings,
  );
}
if (flags.only === 'gaussian') {
  await comparison(
    'Gaussian pair (d = 2)',
    {
      name: 'gaussian',
      dim: 2,
      a: {
        covariance: [
          [1, 0.5],
          [0.5, 1],
        ],
      },
      b: {
        mean: [3, -1],
        covariance: [
          [0.25, 0],
          [0, 0.5],
        ],
        offset: 1,
      },
    },
    [{ kind: 'analytic' }, { kind: 'none' }],
    settings,
  );
}
