// The N-agent sweep of docs/mfg.md: the mfg.pma processor in n_agent mode for N ∈ {10, 50, 200, 1000} on
// both stationary games, three seeds each, with exact mode beside it. Prints a markdown table of the floor
// (mean exploitability of the agents' mean policy over the last quarter of the epochs).
//    npm run sweep:mfg-pma [-- --epochs 40 --steps 2000 --seeds 3]
import { parseArgs } from 'node:util';
import type { ProcessorContext } from '../src/jobs/processor.js';
import { mfgPma } from '../src/jobs/processors/mfg-pma.js';
import type { MfgPmaParams } from '../src/solvers/mfg/stationary/params.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '40' },
    steps: { type: 'string', default: '2000' },
    seeds: { type: 'string', default: '3' },
    agents: { type: 'string', default: '10,50,200,1000' },
  },
});
const epochs = Number(values.epochs);
const steps = Number(values.steps);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const agentCounts = values.agents.split(',').map(Number);

const context = (seed: number) =>
  ({ seed, progress: () => undefined, signal: new AbortController().signal }) as unknown as ProcessorContext;
// biome-ignore lint/suspicious/noExplicitAny: the result is the job's JSON
const run = async (params: Record<string, unknown>, seed: number): Promise<any> =>
  (await mfgPma({ discount: 0.9, lambda: 0.1, eta: 1, ...params } as MfgPmaParams, context(seed))).result;

const format = (x: number) => (x === 0 ? '0' : x.toExponential(2));
console.log(
  `n_agent: ${epochs} epochs × ${steps} steps per epoch, η = 1, γ = 0.9, λ = 0.1, seeds ${seeds.join(', ')}\n`,
);
console.log(
  '| game | N | floor (mean ± sd over seeds) | spread (mean) | samples per agent | wall s per run |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const env of [{ name: 'susceptible_infected' }, { name: 'beach_bar' }]) {
  const exact = await run({ env, mode: { name: 'exact', iterations: 400, tolerance: 1e-12 } }, 1);
  console.log(
    `| ${env.name} | exact | ${format(exact.final_exploitability)} (rate ${exact.linear_rate.rate.toFixed(4)}) | – | – | ${(exact.wall_ms / 1000).toFixed(2)} |`,
  );
  for (const agents of agentCounts) {
    const floors: number[] = [];
    const spreads: number[] = [];
    let wall = 0;
    let perAgent = 0;
    let extinct = 0;
    for (const seed of seeds) {
      const result = await run(
        {
          env,
          mode: {
            name: 'n_agent',
            agents,
            epochs,
            steps_per_epoch: steps,
            td_rate_scale: 50,
            td_rate_power: 0.6,
          },
        },
        seed,
      );
      floors.push(result.floor);
      spreads.push(result.spread_mean.at(-1));
      wall += result.wall_ms / 1000;
      perAgent = result.samples_per_agent;
      if (env.name === 'susceptible_infected' && result.final_empirical_law[1] === 0) extinct++;
    }
    const mean = floors.reduce((a, b) => a + b, 0) / floors.length;
    const sd = Math.sqrt(floors.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, floors.length - 1));
    const spread = spreads.reduce((a, b) => a + b, 0) / spreads.length;
    const note = extinct > 0 ? ` (epidemic extinct in ${extinct}/${seeds.length})` : '';
    console.log(
      `| ${env.name} | ${agents} | ${format(mean)} ± ${format(sd)}${note} | ${spread.toFixed(3)} | ${perAgent} | ${(wall / seeds.length).toFixed(1)} |`,
    );
  }
}
