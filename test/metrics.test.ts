// GET /metrics as Prometheus reads it: after completions (plain and antidistillation), a streamed chat
// completion, embeddings, OIP inference and an antidistill.traces job, `promtool check metrics` (Debian's
// prometheus package) finds nothing to say, and the language-model and per-model inference metrics add up
// to what the replies reported: tokens to the usage, first-token and inter-token observations to the
// sequences and tokens, Triton-style success counts and durations to the requests. And a real Prometheus
// server (Debian's, 2.42) scrapes it with an API key and answers a query over what it scraped.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { readFashionMnist } from '../src/retrieval/embedding/fashion-mnist.js';
import { listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { pngBase64 } from './helpers/png-writer.js';
import { PROMETHEUS, promtoolCheck, sample } from './helpers/prometheus.js';
import { freePort } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const TEACHER = 'arithmetic-teacher';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

describe('Prometheus metrics', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));
  const jobs = jobApi(() => app, 120_000);
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

  it('passes promtool and adds up after completions, chat, embeddings, OIP inference and a job', async () => {
    const prompts = ['Q:12+3=', 'Q:7*8='];
    const plain = await post('/v1/completions', { prompt: prompts, n: 2, max_tokens: 6, seed: 1 });
    assert.equal(plain.statusCode, 200, plain.body);
    const plainUsage = plain.json().usage as Usage;

    const chat = await post('/v1/chat/completions', {
      messages: [{ role: 'user', content: '90719*8' }],
      n: 2,
      max_tokens: 5,
      seed: 2,
      antidistillation: { lambda: 0.5 },
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(chat.statusCode, 200, chat.body);
    const chunks = chat.body
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice('data: '.length)));
    const chatUsage = chunks.at(-1)?.usage as Usage;
    assert.ok(chatUsage, 'the last chunk carries the usage');

    const job = await jobs.run('antidistill.traces', { prompts, n: 1, max_tokens: 6, temperature: 1 }, 3);
    const jobTokens = job.result.completion_tokens as number;

    const demo = await readFashionMnist(MODELS_DIR, 'demo');
    const image = pngBase64(demo.pixels.slice(0, 784));
    const embeddings = await post('/v1/embeddings', { input: [image, image] });
    assert.equal(embeddings.statusCode, 200, embeddings.body);
    for (const x of [0.1, -0.4, 0.9]) {
      const inferred = await post('/v2/models/spiral-mlp/infer', {
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [x, x] }],
      });
      assert.equal(inferred.statusCode, 200, inferred.body);
    }

    const text = (await app.inject('/metrics')).body;
    const check = promtoolCheck(text);
    assert.equal(check.status, 0, check.output);
    assert.equal(check.output, '', 'promtool has nothing to say');

    const plainLabels = { model: TEACHER, mode: 'plain' };
    const tiltedLabels = { model: TEACHER, mode: 'antidistillation' };
    // The job decodes the same prompts as the plain request: the same prompt tokens again.
    assert.equal(sample(text, 'meanserve_prompt_tokens_total', plainLabels), 2 * plainUsage.prompt_tokens);
    assert.equal(
      sample(text, 'meanserve_generation_tokens_total', plainLabels),
      plainUsage.completion_tokens + jobTokens,
    );
    assert.equal(sample(text, 'meanserve_prompt_tokens_total', tiltedLabels), chatUsage.prompt_tokens);
    assert.equal(
      sample(text, 'meanserve_generation_tokens_total', tiltedLabels),
      chatUsage.completion_tokens,
    );
    // One first token per sequence of a request; the other tokens each follow one.
    for (const [labels, usage, sequences] of [
      [plainLabels, plainUsage, 4],
      [tiltedLabels, chatUsage, 2],
    ] as const) {
      assert.equal(sample(text, 'meanserve_time_to_first_token_seconds_count', labels), sequences);
      assert.equal(
        sample(text, 'meanserve_inter_token_latency_seconds_count', labels),
        usage.completion_tokens - sequences,
      );
      assert.equal(sample(text, 'meanserve_sequences_waiting', labels), 0);
      assert.equal(sample(text, 'meanserve_sequences_running', labels), 0);
    }

    const spiral = { model: 'spiral-mlp', version: '1' };
    assert.equal(sample(text, 'meanserve_inference_request_success_total', spiral), 3);
    assert.equal(sample(text, 'meanserve_inference_queue_duration_seconds_count', spiral), 3);
    assert.equal(sample(text, 'meanserve_inference_compute_duration_seconds_count', spiral), 3);
    assert.equal(sample(text, 'meanserve_inference_batch_size_sum', spiral), 3, 'rows inferred');
    const embedder = { model: 'fmnist-embed-mf', version: '1' };
    assert.equal(sample(text, 'meanserve_inference_request_success_total', embedder), 1);
    assert.equal(sample(text, 'meanserve_inference_batch_size_sum', embedder), 2);
    const seconds = sample(text, 'meanserve_inference_duration_seconds_sum', {
      ...spiral,
      outcome: 'success',
    });
    const parts =
      sample(text, 'meanserve_inference_queue_duration_seconds_sum', spiral) +
      sample(text, 'meanserve_inference_compute_duration_seconds_sum', spiral);
    assert.ok(Math.abs(seconds - parts) < 1e-9, `queue + compute (${parts}) = the whole (${seconds})`);
  });

  it('shows promtool failing on a scrape that breaks its rules, so the check above can fail', () => {
    const broken = '# HELP x_total A gauge.\n# TYPE x_total gauge\nx_total 1\n';
    assert.notEqual(promtoolCheck(broken).status, 0);
  });
});

describe('a Prometheus server scraping the API', () => {
  const KEY = 'metrics-key-0123456789abcdef';
  let app: FastifyInstance;
  let prometheus: ChildProcess | undefined;
  let dir: string;
  let query: (
    expression: string,
  ) => Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  before(async () => {
    app = await startApp({ API_KEYS: `ops:${KEY}` });
    const target = new URL(await listen(app)).host;
    dir = await mkdtemp(join(tmpdir(), 'meanserve-prometheus-'));
    // Two jobs: one with the key, one with a key the API does not know.
    const job = (name: string, key: string) =>
      `  - job_name: ${name}\n    authorization: {credentials: ${key}}\n    static_configs: [{targets: ['${target}']}]\n`;
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s}\nscrape_configs:\n${job('api', KEY)}${job('stranger', 'not-a-key')}`,
    );
    const address = `127.0.0.1:${await freePort()}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${address}`,
      ],
      { stdio: 'ignore' },
    );
    query = async (expression) => {
      const response = await fetch(`http://${address}/api/v1/query?query=${encodeURIComponent(expression)}`);
      return ((await response.json()) as { data: { result: [] } }).data.result;
    };
  });
  after(async () => {
    prometheus?.kill();
    await stopApp(app);
    await rm(dir, { recursive: true, force: true });
  });

  it('scrapes with the key, is refused without one, and answers a query over what it scraped', async () => {
    const answered = await app.inject({
      method: 'POST',
      url: '/v1/completions',
      headers: { authorization: `Bearer ${KEY}` },
      payload: { prompt: 'Q:1+2=', temperature: 0 },
    });
    assert.equal(answered.statusCode, 200);
    const completions = await waitFor(
      'a scrape with the completion counted',
      async () =>
        (
          await query('meanserve_http_requests_total{route="/v1/completions",status="200"}').catch(() => [])
        )[0],
      30_000,
      250,
    );
    assert.equal(completions.metric.job, 'api');
    assert.equal(completions.value[1], '1');
    const up = await waitFor('both jobs scraped', async () => {
      const results = await query('up').catch(() => []);
      return results.length === 2 ? results : undefined;
    });
    const health = Object.fromEntries(up.map((result) => [result.metric.job, result.value[1]]));
    assert.deepEqual(health, { api: '1', stranger: '0' });
  });
});
