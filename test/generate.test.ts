// Triton's generate extension (POST /v2/models/{name}[/versions/{version}]/generate and /generate_stream) over
// the arithmetic teacher, as genai-perf and other clients of Triton's LLM endpoints send it: the same text as
// /v1/completions for the same prompt and seed, a stream whose pieces add up to it, and KServe's error shape
// naming the field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, startApp, stopApp } from './helpers/app.js';

const PROMPT = 'Q:4817+2956=';

describe("Triton's generate extension", () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp({});
  });
  after(() => stopApp(app));

  const generate = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
  const completion = async (payload: object) =>
    (await app.inject({ method: 'POST', url: '/v1/completions', payload })).json().choices[0].text as string;

  it('answers the text /v1/completions gives for the same prompt and seed, greedy and antidistilled', async () => {
    const greedy = await generate('/v2/models/arithmetic-teacher/generate', {
      text_input: PROMPT,
      parameters: { temperature: 0 },
    });
    assert.equal(greedy.statusCode, 200, greedy.body);
    assert.match(greedy.headers['content-type'] as string, /^application\/json/);
    const body = greedy.json();
    assert.equal(body.model_name, 'arithmetic-teacher');
    assert.equal(body.model_version, '1');
    assert.equal(body.finish_reason, 'stop');
    assert.equal(body.text_output, await completion({ prompt: PROMPT, temperature: 0 }));
    const parameters = {
      temperature: 1,
      top_p: 0.95,
      seed: 11,
      max_tokens: 20,
      stop: '|A',
      presence_penalty: 0.3,
    };
    const tilted = await generate('/v2/models/arithmetic-teacher/versions/1/generate', {
      text_input: PROMPT,
      parameters: { ...parameters, antidistillation_lambda: 0.1 },
    });
    assert.equal(tilted.json().seed, 11);
    assert.equal(
      tilted.json().text_output,
      await completion({ prompt: PROMPT, ...parameters, antidistillation: { lambda: 0.1 } }),
    );
  });

  it('streams pieces whose text adds up to the whole answer', async () => {
    const payload = { text_input: 'Q:90719*8=', parameters: { temperature: 1, seed: 5, stream: true } };
    const stream = await generate('/v2/models/arithmetic-teacher/generate_stream', payload);
    assert.equal(stream.statusCode, 200);
    assert.match(stream.headers['content-type'] as string, /^text\/event-stream/);
    const pieces = stream.body
      .split('\n\n')
      .filter((event) => event.startsWith('data: '))
      .map((event) => JSON.parse(event.slice('data: '.length)));
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    for (const piece of pieces) {
      assert.deepEqual(Object.keys(piece).sort(), ['model_name', 'model_version', 'text_output']);
    }
    const whole = await generate('/v2/models/arithmetic-teacher/generate', payload);
    assert.equal(pieces.map((piece) => piece.text_output).join(''), whole.json().text_output);
  });

  for (const [what, url, payload, status, path] of [
    [
      'text outside the vocabulary',
      'arithmetic-teacher/generate',
      { text_input: 'hello' },
      400,
      '/body/text_input',
    ],
    [
      'a parameter the model does not take',
      'arithmetic-teacher/generate',
      { text_input: PROMPT, parameters: { top_k: 5 } },
      400,
      '/body/parameters/top_k',
    ],
    [
      'max_tokens past the context',
      'arithmetic-teacher/generate_stream',
      { text_input: PROMPT, parameters: { max_tokens: 500 } },
      400,
      '/body/parameters/max_tokens',
    ],
    [
      'antidistillation with greedy decoding',
      'arithmetic-teacher/generate',
      { text_input: PROMPT, parameters: { temperature: 0, antidistillation_lambda: 1 } },
      400,
      '/body/parameters/temperature',
    ],
    ['a model that is no language model', 'spiral-mlp/generate', { text_input: PROMPT }, 422, '/params/name'],
    [
      'a version that is not served',
      'arithmetic-teacher/versions/2/generate',
      { text_input: PROMPT },
      404,
      null,
    ],
    ['an unknown model', 'nope/generate_stream', { text_input: PROMPT }, 404, null],
  ] as const) {
    it(`refuses ${what}: ${status} in KServe's error shape`, async () => {
      const response = await generate(`/v2/models/${url}`, payload);
      assert.equal(response.statusCode, status, response.body);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      const body = response.json();
      assert.equal(typeof body.error, 'string');
      if (path !== null) assert.equal(body.errors[0].path, path);
      await assertLive(app);
    });
  }
});
