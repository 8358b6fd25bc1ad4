// feat.free-energy benchmark: (b, s) field evaluations per second of the learned FEAT transports through
// onnxruntime-node (one thread, as a job gets), at several batch sizes beside batch 1 in the same run, and
// the wall time of default jobs (the processor called directly, phases split).
//    npm run bench:feat [-- --seconds 1]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { featFreeEnergy } from '../src/jobs/processors/feat-free-energy.js';
import { LocalModels } from '../src/models/local-models.js';
import type { ManifestEntry } from '../src/schemas/manifest.js';
import type { FeatParams } from '../src/solvers/feat/params.js';

const { values: flags } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } });
const budgetMs = Number(flags.seconds) * 1000;
const MODELS_DIR = new URL('../models/', import.meta.url).pathname;
const access = {
  modelsDir: MODELS_DIR,
  modelRepositoryDir: '/nonexistent',
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  fashionMnistDir: '',
};
const BATCHES = [1, 16, 64, 256, 1024, 4096];

async function evaluationsPerSecond(
  models: LocalModels,
  entry: ManifestEntry,
  batch: number,
): Promise<number> {
  const dim = entry.inputs.find((input) => input.name === 'x')?.shape[1] as number;
  const x = new Float32Array(batch * dim).map((_, i) => Math.sin(i));
  const inputs = {
    t: { datatype: 'FP32' as const, shape: [batch], data: new Float32Array(batch).fill(0.5) },
    x: { datatype: 'FP32' as const, shape: [batch, dim], data: x },
  };
  await models.run(entry, inputs, ['b', 's']);
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < budgetMs) {
    await models.run(entry, inputs, ['b', 's']);
    calls++;
  }
  return (calls * batch) / ((performance.now() - started) / 1000);
}

const models = new LocalModels(access);
console.log(
  `## field evaluations per second (onnxruntime-node, CPU, 1 intra-op thread, ${flags.seconds} s per row)\n`,
);
console.log('| model | d | batch | evaluations/s | × batch 1 |');
console.log('| --- | --- | --- | --- | --- |');
for (const name of ['feat-gmm', 'feat-phi4-umbrella']) {
  const entry = await models.entry(name);
  if (entry === undefined || !existsSync(`${MODELS_DIR}${entry.file}`)) continue;
  const dim = entry.inputs.find((input) => input.name === 'x')?.shape[1];
  let single = 0;
  for (const batch of BATCHES) {
    const rate = await evaluationsPerSecond(models, entry, batch);
    if (batch === 1) single = rate;
    console.log(`| ${name} | ${dim} | ${batch} | ${Math.round(rate)} | ${(rate / single).toFixed(1)} |`);
  }
}
await models.close();

const JOBS: Array<[string, Record<string, unknown>]> = [
  [
    'gmm, learned feat-gmm, defaults',
    { system: { name: 'gmm' }, transport: { kind: 'learned', model: 'feat-gmm' } },
  ],
  ['gmm, none, defaults', { system: { name: 'gmm' }, transport: { kind: 'none' } }],
  [
    'gaussian d = 2, analytic, defaults',
    {
      system: {
        name: 'gaussian',
        dim: 2,
        b: {
          mean: [3, -1],
          covariance: [
            [0.25, 0],
            [0, 0.5],
          ],
          offset: 1,
        },
      },
      transport: { kind: 'analytic' },
    },
  ],
  [
    'phi4_umbrella 8 × 8, learned feat-phi4-umbrella, defaults',
    { system: { name: 'phi4_umbrella' }, transport: { kind: 'learned', model: 'feat-phi4-umbrella' } },
  ],
];
console.log(
  '\n## wall time of default jobs (N_F = N_R = 1000, K = 100, ε = 0.01, 200 bootstrap resamples, baselines on)\n',
);
console.log(
  '| job | total s | end-state sampling s | FEAT paths + bootstrap s | baselines s | FEAT evaluations |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [label, params] of JOBS) {
  const transport = params.transport as { model?: string };
  if (transport.model !== undefined && !existsSync(`${MODELS_DIR}${transport.model}/model.onnx`)) continue;
  const { result } = (await featFreeEnergy(params as FeatParams, {
    seed: 1,
    progress: () => {},
    signal: new AbortController().signal,
    models: access,
  })) as { result: { wall_ms: Record<string, number>; evaluations: { total: number } } };
  const s = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(2);
  const w = result.wall_ms;
  console.log(
    `| ${label} | ${s(w.total)} | ${s(w.sampling)} | ${s(w.feat)} | ${s(w.baselines)} | ${result.evaluations.total} |`,
  );
}
