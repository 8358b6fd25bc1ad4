// Generation benchmark, one run on one machine state: images per second of MeanFlow at 1 and 2 NFE against
// the flow-matching baseline at 1 … 32 Euler steps (same network, same batch, same decoder), and the
// velocity network's forward pass in onnxruntime-node against PyTorch eager on the same weights-shaped
// network and batch (bench/meanflow_torch.py). Both runtimes use one thread, as a served model does by default.
//   npm run bench:meanflow [-- --batch 256 --seconds 3]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, modelAccess } from '../src/config.js';
import { Random } from '../src/lib/random.js';
import { generateImages, planSamples } from '../src/models/generator.js';
import { LocalModels } from '../src/models/local-models.js';
import type { GeneratorSpec } from '../src/schemas/manifest.js';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '256' }, seconds: { type: 'string', default: '3' } },
});
const batch = Number(values.batch);
const seconds = Number(values.seconds);

const models = new LocalModels({ ...modelAccess(loadConfig()), intraOpThreads: 1 });

/** Calls `work` repeatedly for about `seconds` after two warm-up calls; returns calls per second. */
async function rate(work: () => Promise<unknown>): Promise<number> {
  await work();
  await work();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await work();
    calls++;
  }
  return calls / ((performance.now() - started) / 1000);
}

async function generatorRate(name: string, steps: number): Promise<number> {
  const entry = await models.entry(name);
  if (entry?.generator === undefined) throw new Error(`${name} is not a served generator`);
  const spec: GeneratorSpec = entry.generator;
  const plan = planSamples(spec, batch, undefined, 1);
  return batch * (await rate(() => generateImages(models.runByName, name, spec, plan, steps)));
}

async function main(): Promise<void> {
  const rows: Array<{ sampler: string; nfe: number; imagesPerSecond: number }> = [];
  for (const [name, steps] of [
    ['meanflow-fmnist', 1],
    ['meanflow-fmnist', 2],
    ['flowmatching-fmnist', 1],
    ['flowmatching-fmnist', 4],
    ['flowmatching-fmnist', 8],
    ['flowmatching-fmnist', 32],
  ] as const) {
    rows.push({ sampler: name, nfe: steps, imagesPerSecond: await generatorRate(name, steps) });
  }
  const baseline = rows[0]?.imagesPerSecond ?? 1;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, batch ${batch}`);
  console.log('| sampler | NFE | images/s | × MeanFlow 1-NFE |\n|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.sampler} | ${row.nfe} | ${row.imagesPerSecond.toFixed(0)} | ${(row.imagesPerSecond / baseline).toFixed(3)} |`,
    );
  }

  // The velocity network alone, onnxruntime-node against PyTorch eager, same batch and thread count.
  const entry = await models.entry('meanflow-fmnist');
  if (entry?.generator === undefined) throw new Error('meanflow-fmnist is not a served generator');
  const random = new Random(2);
  const dim = entry.generator.latent_dim;
  const inputs = {
    z: { datatype: 'FP32' as const, shape: [batch, dim], data: random.normals(batch * dim) },
    r: { datatype: 'FP32' as const, shape: [batch], data: new Float32Array(batch).fill(0.25) },
    t: { datatype: 'FP32' as const, shape: [batch], data: new Float32Array(batch).fill(0.75) },
    y: { datatype: 'INT64' as const, shape: [batch], data: new BigInt64Array(batch).fill(3n) },
  };
  const ortPerSecond = await rate(() => models.run(entry, inputs, ['u']));
  const torch = spawnSync(
    '/usr/bin/python3',
    ['bench/meanflow_torch.py', '--batch', String(batch), '--seconds', String(seconds)],
    {
      encoding: 'utf8',
    },
  );
  if (torch.status !== 0) throw new Error(`bench/meanflow_torch.py failed:\n${torch.stderr}`);
  const torchPerSecond = (JSON.parse(torch.stdout) as { forwardsPerSecond: number }).forwardsPerSecond;
  console.log(`\n| velocity network, batch ${batch}, 1 thread | forwards/s | ms/forward |\n|---|---:|---:|`);
  console.log(
    `| onnxruntime-node ${entry.sha256.slice(0, 8)} | ${ortPerSecond.toFixed(1)} | ${(1000 / ortPerSecond).toFixed(2)} |`,
  );
  console.log(
    `| PyTorch eager (torch ${JSON.parse(torch.stdout).torch}) | ${torchPerSecond.toFixed(1)} | ${(1000 / torchPerSecond).toFixed(2)} |`,
  );
  console.log(`onnxruntime-node / PyTorch eager: ${(ortPerSecond / torchPerSecond).toFixed(2)}×`);
  await models.close();
}

await main();
