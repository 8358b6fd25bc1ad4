// POST /v1/completions end to end: exact greedy strings, seeded reproducibility, antidistillation,
// server-sent events equal to the plain reply, the official openai client, disconnects that stop compute,
// and every bad input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { assertLive, DEFAULT_DECODERS, listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { assertDecodingStopped, generatedTokens, LONG_GENERATION } from './helpers/generation.js';

const greedyStrings = JSON.parse(
  readFileSync(`${MODELS_DIR}arithmetic-teacher/greedy.json`, 'utf8'),
) as Record<string, string>;

interface Chunk {
  choices: Array<{ text: string; index: number; finish_reason: string | null; logprobs: unknown }>;
  usage?: { completion_tokens: number };
}

/** Parses an SSE body into its data payloads, checking the framing of each event. */
function sseData(body: string): string[] {
  assert.ok(body.endsWith('\n\n'), 'every event ends with a blank line');
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      assert.match(event, /^data: /, `event "${event.slice(0, 40)}" is a data line`);
      assert.ok(!event.includes('\n'), 'one line per event');
      return event.slice('data: '.length);
    });
}

/** The choices' texts of a stream, joined per index, with their finish reasons. */
function joinStream(data: string[]) {
  assert.equal(data.at(-1), '[DONE]');
  const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk);
  const texts = new Map<number, string>();
  const finish = new Map<number, string>();
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      texts.set(choice.index, (texts.get(choice.index) ?? '') + choice.text);
      if (choice.finish_reason !== null) {
        assert.ok(!finish.has(choice.index), 'one finishing chunk per choice');
        finish.set(choice.index, choice.finish_reason);
      }
    }
  }
  return { chunks, texts, finish };
}

describe('completions', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await startApp(DEFAULT_DECODERS);
    base = await listen(app);
  });
  after(() => stopApp(app));

  const complete = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/completions', payload: body });

  it('lists the teacher with its proxy pair, and the pair, in GET /v1/models', async () => {
    const models = (await app.inject('/v1/models')).json().data as Array<{
      name: string;
      task: string;
      state: string;
      language_model?: {
        cache?: unknown;
        proxies?: Array<{ name: string; epsilon: number; plus: string; minus: string }>;
      };
    }>;
    const teacher = models.find((model) => model.name === 'arithmetic-teacher');
    assert.equal(teacher?.task, 'text-generation');
    assert.deepEqual(teacher?.language_model?.proxies, [
      {
        name: 'arithmetic-proxy',
        epsilon: 0.01,
        plus: 'arithmetic-proxy-plus',
        minus: 'arithmetic-proxy-minus',
      },
    ]);
    for (const name of ['arithmetic-proxy-plus', 'arithmetic-proxy-minus']) {
      const proxy = models.find((model) => model.name === name);
      assert.equal(proxy?.state, 'ready');
      assert.ok(proxy?.language_model?.cache);
    }
  });

  it('decodes fixed prompts greedily to exactly the strings PyTorch produced', async () => {
    const prompts = Object.keys(greedyStrings);
    const response = await complete({ prompt: prompts, temperature: 0 });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.object, 'text_completion');
    assert.deepEqual(
      body.choices.map((choice: { text: string }) => choice.text),
      prompts.map((prompt) => greedyStrings[prompt]),
    );
    for (const choice of body.choices) assert.equal(choice.finish_reason, 'stop');
    assert.equal(body.models.teacher.name, 'arithmetic-teacher');
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('is reproducible under a seed, and different seeds differ', async () => {
    const request = { prompt: ['Q:90719*8=', 'Q:4817+2956='], n: 3, temperature: 1.5, seed: 11 };
    const first = (await complete(request)).json();
    const again = (await complete(request)).json();
    const other = (await complete({ ...request, seed: 12 })).json();
    const texts = (body: { choices: Array<{ text: string }> }) => body.choices.map((c) => c.text);
    assert.deepEqual(texts(first), texts(again));
    assert.notDeepEqual(texts(first), texts(other));
    assert.equal(first.choices.length, 6);
    assert.equal(first.seed, 11);
  });

  it('generates a seed when none is given and returns it', async () => {
    const body = (await complete({ prompt: 'Q:12+34=', temperature: 1 })).json();
    const again = (await complete({ prompt: 'Q:12+34=', temperature: 1, seed: body.seed })).json();
    assert.equal(again.choices[0].text, body.choices[0].text);
  });

  it('tilts with the proxy pair and names every model; λ moves the text away from plain sampling', async () => {
    const prompt = ['Q:4817+2956=', 'Q:31415*9=', 'Q:123+4567='];
    const plain = (await complete({ prompt, n: 4, temperature: 1, seed: 5 })).json();
    const tilted = (
      await complete({
        prompt,
        n: 4,
        temperature: 1,
        seed: 5,
        antidistillation: { lambda: 50, epsilon: 0.01 },
      })
    ).json();
    assert.equal(tilted.antidistillation.proxy, 'arithmetic-proxy');
    assert.equal(tilted.antidistillation.lambda, 50);
    assert.equal(tilted.models.proxy_plus.name, 'arithmetic-proxy-plus');
    assert.equal(tilted.models.proxy_minus.name, 'arithmetic-proxy-minus');
    assert.notDeepEqual(
      tilted.choices.map((c: { text: string }) => c.text),
      plain.choices.map((c: { text: string }) => c.text),
    );
    const zero = (
      await complete({ prompt, n: 4, temperature: 1, seed: 5, antidistillation: { lambda: 0 } })
    ).json();
    assert.deepEqual(zero.choices, plain.choices);
    assert.equal(zero.antidistillation, undefined);
  });

  it('reports log-probabilities of the tilted distribution, never equal to the teacher', async () => {
    const request = { prompt: 'Q:4817+2956=', max_tokens: 8, temperature: 1, seed: 2, logprobs: 2 };
    const plain = (await complete(request)).json().choices[0].logprobs;
    const tilted = (await complete({ ...request, antidistillation: { lambda: 50 } })).json().choices[0]
      .logprobs;
    assert.equal(plain.tokens.length, 8);
    assert.equal(plain.top_logprobs.length, 8);
    for (const [i, value] of plain.token_logprobs.entries())
      assert.ok(value <= 0 && Number.isFinite(value), `${i}`);
    assert.notDeepEqual(tilted.top_logprobs[0], plain.top_logprobs[0]);
  });

  it('moves λ along the completion with lambda_schedule', async () => {
    const request = { prompt: 'Q:4817+2956=', max_tokens: 6, temperature: 1, seed: 3, logprobs: 2 };
    const constant = (await complete({ ...request, antidistillation: { lambda: 50 } })).json();
    const flat = (
      await complete({
        ...request,
        antidistillation: { lambda: 50, lambda_schedule: { end: 50, tokens: 4 } },
      })
    ).json();
    assert.deepEqual(flat.choices, constant.choices);
    // λ = 0 at the first token, 50 from the second on: the first distribution is the untilted teacher's,
    // the second (after the same first token) the tilted one.
    const plain = (await complete(request)).json().choices[0].logprobs;
    const ramp = (
      await complete({ ...request, antidistillation: { lambda: 0, lambda_schedule: { end: 50, tokens: 1 } } })
    ).json();
    assert.deepEqual(ramp.antidistillation.lambda_schedule, { end: 50, tokens: 1 });
    assert.equal(ramp.models.proxy_plus.name, 'arithmetic-proxy-plus');
    const { logprobs } = ramp.choices[0];
    assert.deepEqual(logprobs.top_logprobs[0], plain.top_logprobs[0]);
    assert.equal(logprobs.tokens[0], plain.tokens[0]);
    assert.notDeepEqual(logprobs.top_logprobs[1], plain.top_logprobs[1]);
    const tilted = constant.choices[0].logprobs;
    assert.notDeepEqual(logprobs.top_logprobs[0], tilted.top_logprobs[0]);
  });

  it('ends at a stop sequence without returning it', async () => {
    const body = (await complete({ prompt: 'Q:4817+2956=', temperature: 0, stop: ['|'] })).json();
    assert.equal(body.choices[0].text, (greedyStrings['Q:4817+2956='] as string).split('|')[0]);
    assert.equal(body.choices[0].finish_reason, 'stop');
    const length = (await complete({ prompt: 'Q:4817+2956=', temperature: 0, max_tokens: 3 })).json();
    assert.equal(length.choices[0].text, (greedyStrings['Q:4817+2956='] as string).slice(0, 3));
    assert.equal(length.choices[0].finish_reason, 'length');
  });

  it('streams well-formed server-sent events whose text equals the plain reply', async () => {
    const request = {
      prompt: ['Q:4817+2956=', 'Q:90719*8='],
      n: 2,
      temperature: 1.2,
      top_p: 0.95,
      seed: 9,
      stop: ['A:9', '|1'],
      antidistillation: { lambda: 20 },
    };
    const plain = (await complete(request)).json();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/completions',
      payload: { ...request, stream: true, stream_options: { include_usage: true } },
    });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    const { chunks, texts, finish } = joinStream(sseData(response.body));
    for (const choice of plain.choices) {
      assert.equal(texts.get(choice.index) ?? '', choice.text);
      assert.equal(finish.get(choice.index), choice.finish_reason);
    }
    const usage = chunks.at(-1);
    assert.deepEqual(usage?.choices, []);
    assert.equal(usage?.usage?.completion_tokens, plain.usage.completion_tokens);
    for (const chunk of chunks)
      assert.equal(
        (chunk as unknown as { id: string }).id,
        chunks[0] && (chunks[0] as unknown as { id: string }).id,
      );
  });

  it('serves the official openai client, plain and streamed', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
    const completion = await client.completions.create({
      model: 'arithmetic-teacher',
      prompt: 'Q:4817+2956=',
      temperature: 0,
      max_tokens: 80,
    });
    assert.equal(completion.choices[0]?.text, greedyStrings['Q:4817+2956=']);
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    const stream = await client.completions.create({
      model: 'arithmetic-teacher',
      prompt: 'Q:90719*8=',
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, greedyStrings['Q:90719*8=']);
  });

  it('stops generating when the client disconnects', async () => {
    const before = await generatedTokens(app);
    const body = JSON.stringify({ ...LONG_GENERATION, stream: true });
    await new Promise<void>((resolve, reject) => {
      const request = httpRequest(`${base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      request.on('response', (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', (error) => (error.message.includes('socket hang up') ? resolve() : reject(error)));
      request.end(body);
    });
    await assertDecodingStopped(app, before, 0.25);
    await assertLive(app);
  });

  const badInputs: Array<[string, Record<string, unknown>, number, string]> = [
    ['negative temperature', { prompt: 'Q:1+2=', temperature: -0.5 }, 400, '/body/temperature'],
    ['top_p of 0', { prompt: 'Q:1+2=', top_p: 0 }, 400, '/body/top_p'],
    ['top_p above 1', { prompt: 'Q:1+2=', top_p: 1.5 }, 400, '/body/top_p'],
    ['max_tokens beyond the context', { prompt: 'Q:4817+2956=', max_tokens: 90 }, 400, '/body/max_tokens'],
    [
      'negative max_tokens (0 scores an echoed prompt)',
      { prompt: 'Q:1+2=', max_tokens: -1 },
      400,
      '/body/max_tokens',
    ],
    [
      'negative lambda',
      { prompt: 'Q:1+2=', antidistillation: { lambda: -1 } },
      400,
      '/body/antidistillation/lambda',
    ],
    [
      'lambda too large',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1e6 } },
      400,
      '/body/antidistillation/lambda',
    ],
    [
      'a schedule of no tokens',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1, lambda_schedule: { end: 0, tokens: 0 } } },
      400,
      '/body/antidistillation/lambda_schedule/tokens',
    ],
    [
      'a schedule without its end',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1, lambda_schedule: { tokens: 8 } } },
      400,
      '/body/antidistillation/lambda_schedule',
    ],
    [
      'epsilon of 0',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1, epsilon: 0 } },
      400,
      '/body/antidistillation/epsilon',
    ],
    [
      'epsilon the pair lacks',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1, epsilon: 0.02 } },
      400,
      '/body/antidistillation/epsilon',
    ],
    [
      'unknown proxy',
      { prompt: 'Q:1+2=', antidistillation: { lambda: 1, proxy: 'nope' } },
      400,
      '/body/antidistillation/proxy',
    ],
    [
      'antidistillation when greedy',
      { prompt: 'Q:1+2=', temperature: 0, antidistillation: { lambda: 1 } },
      400,
      '/body/temperature',
    ],
    ['character outside the vocabulary', { prompt: 'Q:1+x=' }, 400, '/body/prompt'],
    ['bad character in a list', { prompt: ['Q:1+2=', 'Q:1-2='] }, 400, '/body/prompt/1'],
    ['too many sequences', { prompt: Array(20).fill('Q:1+2='), n: 16 }, 400, '/body/n'],
    ['five stop sequences', { prompt: 'Q:1+2=', stop: ['1', '2', '3', '4', '5'] }, 400, '/body/stop'],
    ['logprobs above 5', { prompt: 'Q:1+2=', logprobs: 6 }, 400, '/body/logprobs'],
    ['unknown field', { prompt: 'Q:1+2=', best_of: 2 }, 400, '/body'],
    ['a prompt filling the context', { prompt: `Q:${'1'.repeat(100)}=` }, 400, '/body/prompt'],
    ['a model that is not a language model', { prompt: 'Q:1+2=', model: 'spiral-mlp' }, 422, '/body/model'],
  ];
  for (const [what, body, status, path] of badInputs) {
    it(`answers ${status} for ${what}`, async () => {
      const response = await complete(body);
      assert.equal(response.statusCode, status, response.body);
      // OpenAI's error shape, as its SDKs read it, with the problem details beside it.
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const problem = response.json();
      assert.equal(problem.error.message, problem.detail);
      assert.ok(
        problem.errors.some((error: { path: string }) => error.path.startsWith(path)),
        `${JSON.stringify(problem.errors)} names ${path}`,
      );
      await assertLive(app);
    });
  }

  it('answers 404 for an unknown model', async () => {
    const response = await complete({ prompt: 'Q:1+2=', model: 'no-such-model' });
    assert.equal(response.statusCode, 404);
  });
});
