// Completion benchmark, one run on one machine state: tokens per second of plain and antidistillation
// sampling, with and without the key/value cache, on the serving path (decoder threads: teacher and both
// proxies on three threads, as POST /v1/completions runs) and on one thread (as the antidistill.traces job
// runs). The same prompts, seed and sampler for every row; antidistillation overhead = plain / ADS time.
//   npm run bench:completions [-- --sequences 32 --rounds 3]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, modelAccess } from '../src/config.js';
import {
  type CompletionPlan,
  type OpenDecoders,
  planCompletion,
  runCompletion,
} from '../src/models/lm/completions.js';
import { DecoderPool } from '../src/models/lm/decoder-pool.js';
import { LocalModels } from '../src/models/local-models.js';
import { readManifest, readVerifiedModel } from '../src/models/manifest.js';

const { values } = parseArgs({
  options: { sequences: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' } },
});
const sequences = Number(values.sequences);
const rounds = Number(values.rounds);
const config = loadConfig();

async function main(): Promise<void> {
  const entries = (await readManifest(config.modelsDir)).filter(
    (entry) => entry.language_model !== undefined,
  );
  const lookup = (name: string) => {
    const found = entries.find((entry) => entry.name === name);
    if (found === undefined) throw new Error(`${name} is not served`);
    return found;
  };
  const pool = new DecoderPool(config.decoderThreads);
  await pool.start(
    await Promise.all(
      entries.map(async (entry) => ({
        key: `${entry.name}@${entry.version}`,
        model: await readVerifiedModel(config.modelsDir, entry),
        providers: config.executionProviders,
        cache: entry.language_model?.cache ?? { layers: 1, heads: 1, head_dim: 1 },
      })),
    ),
  );
  const local = new LocalModels({ ...modelAccess(config), intraOpThreads: 1 });
  // Same problems as the experiment's test split: 3-5-digit sums and products.
  const prompts = Array.from({ length: sequences }, (_, i) =>
    i % 2 === 0 ? `Q:${31_415 + 97 * i}+${2_718 + 13 * i}=` : `Q:${90_719 - 31 * i}*${i % 10}=`,
  );
  const plan = (lambda: number): CompletionPlan =>
    planCompletion(lookup, config.modelsDir, {
      prompt: prompts,
      temperature: 1,
      top_p: 0.95,
      n: 1,
      seed: 7,
      ...(lambda > 0 ? { antidistillation: { lambda } } : {}),
    });
  const runners: Array<[string, (useCache: boolean) => OpenDecoders]> = [
    [
      'decoder threads',
      (useCache) => (list) =>
        pool.open(
          list.map((e) => `${e.name}@${e.version}`),
          useCache,
        ),
    ],
    ['one thread', (useCache) => (list) => Promise.all(list.map((entry) => local.decoder(entry, useCache)))],
  ];
  const rows: Array<{ runner: string; mode: string; cache: boolean; tokensPerSecond: number }> = [];
  for (const [runner, opener] of runners) {
    for (const useCache of [true, false]) {
      for (const [mode, lambda] of [
        ['plain', 0],
        ['antidistillation', 0.109], // 0.6 nats: the teacher keeps 88 % (docs/antidistillation.md)
      ] as const) {
        const planned = plan(lambda);
        await runCompletion(planned, opener(useCache), {}, new AbortController().signal); // warm-up
        let best = 0;
        for (let round = 0; round < rounds; round++) {
          const started = performance.now();
          const results = await runCompletion(planned, opener(useCache), {}, new AbortController().signal);
          const tokens = results.reduce((sum, result) => sum + result.completionTokens, 0);
          best = Math.max(best, tokens / ((performance.now() - started) / 1000));
        }
        rows.push({ runner, mode, cache: useCache, tokensPerSecond: best });
      }
    }
  }
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, ${sequences} sequences, best of ${rounds}`,
  );
  console.log('| runner | KV cache | mode | tokens/s | × plain (same runner, cache) | × with cache |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const row of rows) {
    const plain = rows.find((r) => r.runner === row.runner && r.cache === row.cache && r.mode === 'plain');
    const cached = rows.find((r) => r.runner === row.runner && r.cache && r.mode === row.mode);
    console.log(
      `| ${row.runner} | ${row.cache ? 'yes' : 'no'} | ${row.mode} | ${row.tokensPerSecond.toFixed(0)} | ` +
        `${(row.tokensPerSecond / (plain?.tokensPerSecond ?? 1)).toFixed(2)} | ${(row.tokensPerSecond / (cached?.tokensPerSecond ?? 1)).toFixed(2)} |`,
    );
  }
  await pool.close();
  await local.close();
}

await main();
