// The antidistill.traces job through the API (inline queue): the same texts as POST /v1/completions for
// the same prompts and seed, drawn problems of the requested split graded by the job, the sampler's utility
// cost (per-token KL to the teacher), and bad params refused at submit with the field path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Random } from '../src/lib/random.js';
import { type Problem, sampleProblems, splitOf } from '../src/models/lm/arithmetic-problems.js';
import { klOfLogs } from '../src/models/lm/generate.js';
import { assertLive, startApp, stopApp } from './helpers/app.js';
import { waitFor } from './helpers/wait.js';

const RANGES = { test: [0, 5], holdout: [5, 10], train: [10, 100] } as Record<
  'test' | 'holdout' | 'train',
  [number, number]
>;

describe('antidistill.traces job', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const submit = (params: Record<string, unknown>, seed = 3) =>
    app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'antidistill.traces', params, seed } });
  const finished = async (id: string) =>
    waitFor(
      `job ${id}`,
      async () => {
        const job = (await app.inject(`/v1/jobs/${id}`)).json();
        return ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
      },
      120_000,
    );
  const traces = async (id: string) =>
    (await app.inject(`/v1/jobs/${id}/artifacts/traces.jsonl`)).body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));

  it('writes the texts POST /v1/completions gives for the same prompts and seed', async () => {
    const prompts = ['Q:4817+2956=', 'Q:90719*8=', 'Q:55+5='];
    const sampling = {
      temperature: 1,
      top_p: 0.95,
      antidistillation: { lambda: 20, lambda_schedule: { end: 5, tokens: 12 } },
      frequency_penalty: 0.4,
      presence_penalty: 0.2,
      logit_bias: { '16': -1 },
    };
    const submitted = await submit({ prompts, n: 2, ...sampling }, 77);
    assert.equal(submitted.statusCode, 202, submitted.body);
    const job = await finished(submitted.json().id);
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.equal(job.result.traces, 6);
    assert.deepEqual(job.result.sampling.logitBias, { '16': -1 });
    assert.equal(job.result.proxy, 'arithmetic-proxy');
    const lines = await traces(job.id);
    const route = (
      await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: { prompt: prompts, n: 2, seed: 77, ...sampling },
      })
    ).json();
    assert.deepEqual(
      lines.map((line: { completion: string }) => line.completion),
      route.choices.map((choice: { text: string }) => choice.text),
    );
    assert.deepEqual(
      lines.map((line: { prompt: string }) => line.prompt),
      prompts.flatMap((prompt) => [prompt, prompt]),
    );
  });

  it('draws distinct problems of the requested split and grades the teacher', async () => {
    const submitted = await submit({ problems: { split: 'test', count: 40 }, temperature: 0 });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const job = await finished(submitted.json().id);
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    const lines = await traces(job.id);
    assert.equal(lines.length, 40);
    assert.equal(new Set(lines.map((line: { prompt: string }) => line.prompt)).size, 40);
    let correct = 0;
    for (const line of lines) {
      const [, a, op, b] = /^Q:(\d+)([+*])(\d+)=$/.exec(line.prompt) ?? [];
      const problem = { a: Number(a), op, b: Number(b) } as Problem;
      assert.equal(splitOf(problem, RANGES), 'test');
      assert.ok(Math.max(String(problem.a).length, String(problem.b).length) >= 3);
      assert.equal(line.answer, problem.op === '+' ? problem.a + problem.b : problem.a * problem.b);
      assert.equal(line.correct, line.completion.endsWith(`A:${line.answer}`));
      if (line.correct) correct++;
    }
    assert.equal(job.result.accuracy, correct / 40);
    assert.ok(job.result.accuracy > 0.8, `greedy teacher accuracy ${job.result.accuracy}`);
    // Greedy decoding samples nothing: there is no utility cost to report.
    assert.equal(job.result.utility_cost, undefined);
  });

  it("reports the sampler's utility cost: the mean per-token KL to the teacher, and the tilt's", async () => {
    const run = async (params: Record<string, unknown>) => {
      const submitted = await submit({ problems: { split: 'test', count: 12 }, top_p: 0.95, ...params });
      assert.equal(submitted.statusCode, 202, submitted.body);
      const job = await finished(submitted.json().id);
      assert.equal(job.state, 'completed', JSON.stringify(job.error));
      return job.result.utility_cost;
    };
    // λ = 0 is plain sampling (no proxy decodes), and at τ = 1 the sampling distribution is the teacher's.
    const untilted = await run({ temperature: 1, antidistillation: { lambda: 0 } });
    assert.equal(untilted.mean_token_kl_of_tilt, undefined);
    assert.equal(untilted.mean_token_kl_to_teacher, 0);
    assert.ok(untilted.tokens > 12);
    // At τ = 1 the tempered teacher is the teacher: both measures agree; a larger λ costs more.
    const tilted = await run({ temperature: 1, antidistillation: { lambda: 5 } });
    const stronger = await run({ temperature: 1, antidistillation: { lambda: 20 } });
    assert.ok(tilted.mean_token_kl_of_tilt > 0);
    assert.equal(tilted.mean_token_kl_of_tilt, tilted.mean_token_kl_to_teacher);
    assert.ok(
      stronger.mean_token_kl_of_tilt > tilted.mean_token_kl_of_tilt,
      JSON.stringify([tilted, stronger]),
    );
    // Temperature alone costs utility too; there is no tilt to report.
    const tempered = await run({ temperature: 1.5 });
    assert.ok(tempered.mean_token_kl_to_teacher > 0);
    assert.equal(tempered.mean_token_kl_of_tilt, undefined);
  });

  it('measures KL(p ‖ q) in nats over the entries p gives mass to', () => {
    const log = (values: number[]) => Float64Array.from(values, Math.log);
    const expected = 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1);
    assert.ok(
      Math.abs(
        klOfLogs(log([0.5, 0.5, 0]), log([0.9, 0.05, 0.05])) -
          (0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.05)),
      ) < 1e-15,
    );
    assert.ok(Math.abs(klOfLogs(log([0.5, 0.5]), log([0.9, 0.1])) - expected) < 1e-15);
    assert.equal(klOfLogs(log([0.2, 0.8]), log([0.2, 0.8])), 0);
  });

  it('uses the split rule of training/arithmetic_task.py', () => {
    // Buckets computed by Python: md5('<a><op><b>')[:8] as an integer, mod 100.
    assert.equal(splitOf({ a: 97858, op: '*', b: 3 }, RANGES), 'test');
    assert.equal(splitOf({ a: 6552, op: '+', b: 59 }, RANGES), 'test');
    const drawn = sampleProblems(
      new Random(1),
      { count: 200, split: 'holdout', minDigits: 1, maxDigits: 5 },
      RANGES,
    );
    assert.ok(drawn.every((problem) => splitOf(problem, RANGES) === 'holdout'));
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      'both prompts and problems',
      { prompts: ['Q:1+2='], problems: { split: 'test', count: 2 } },
      '/body/params',
    ],
    ['neither prompts nor problems', { temperature: 1 }, '/body/params'],
    [
      'min_digits above max_digits',
      { problems: { split: 'test', count: 2, min_digits: 4, max_digits: 3 } },
      '/body/params/problems/min_digits',
    ],
    ['an unknown split', { problems: { split: 'validation', count: 2 } }, '/body/params/problems/split'],
    ['a character outside the vocabulary', { prompts: ['Q:1+2=', 'hello'] }, '/body/params/prompts/1'],
    [
      'an unknown proxy',
      { prompts: ['Q:1+2='], antidistillation: { lambda: 1, proxy: 'x' } },
      '/body/params/antidistillation/proxy',
    ],
    ['a negative temperature', { prompts: ['Q:1+2='], temperature: -1 }, '/body/params/temperature'],
    [
      'a token id past the vocabulary',
      { prompts: ['Q:1+2='], logit_bias: { '20': 1 } },
      '/body/params/logit_bias/20',
    ],
    ['too many traces', { problems: { split: 'train', count: 50_000 }, n: 2 }, '/body/params/n'],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} at submit`, async () => {
      const response = await submit(params);
      assert.equal(response.statusCode, 400, response.body);
      assert.ok(
        response.json().errors.some((error: { path: string }) => error.path.startsWith(path)),
        `${JSON.stringify(response.json().errors)} names ${path}`,
      );
      await assertLive(app);
    });
  }
});
