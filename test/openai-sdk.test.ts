// The real OpenAI SDKs, as a user would call them with their defaults, against a listening server: the
// current major (openai@6) and the last of v4 (openai-v4 = openai@4.95). Completions, chat completions (plain,
// streamed with usage, with `antidistillation` in the body), embeddings with the SDK's default encoding
// (base64), models.list(), and errors whose message the SDK shows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany, generateText, streamText } from 'ai';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import OpenAIv4 from 'openai-v4';
import { SAMPLE_PNG } from '../src/schemas/retrieval.js';
import { listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';

const greedy = JSON.parse(readFileSync(`${MODELS_DIR}arithmetic-teacher/greedy.json`, 'utf8')) as Record<
  string,
  string
>;

/** The part of both SDKs' clients this test calls. */
type Client = OpenAI;

let app: FastifyInstance;
let base: string;
before(async () => {
  app = await startApp({});
  base = await listen(app);
});
after(() => stopApp(app));

const clients: Array<[string, () => Client]> = [
  ['openai@6', () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 })],
  [
    'openai@4',
    () => new OpenAIv4({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 }) as unknown as Client,
  ],
];

for (const [name, make] of clients) {
  describe(`the ${name} SDK`, () => {
    it('lists the models with their ids', async () => {
      const ids: string[] = [];
      for await (const model of make().models.list()) {
        assert.equal(model.object, 'model');
        assert.equal(typeof model.created, 'number');
        ids.push(model.id);
      }
      assert.ok(ids.includes('arithmetic-teacher') && ids.includes('fmnist-embed-mf'), ids.join());
    });

    it('completes a prompt', async () => {
      const completion = await make().completions.create({
        model: 'arithmetic-teacher',
        prompt: 'Q:4817+2956=',
        temperature: 0,
      });
      assert.equal(completion.choices[0]?.text, greedy['Q:4817+2956=']);
    });

    it('chats: the last user message is the problem, greedy text as the completion of its prompt', async () => {
      const chat = await make().chat.completions.create({
        model: 'arithmetic-teacher',
        messages: [
          { role: 'system', content: 'You add and multiply.' },
          { role: 'user', content: '4817+2956' },
        ],
        temperature: 0,
        logprobs: true,
        top_logprobs: 2,
      });
      const choice = chat.choices[0];
      assert.equal(chat.object, 'chat.completion');
      assert.equal(choice?.message.role, 'assistant');
      assert.equal(choice?.message.content, greedy['Q:4817+2956=']);
      assert.equal(choice?.finish_reason, 'stop');
      const tokens = choice?.logprobs?.content ?? [];
      assert.equal(tokens.map((token) => token.token).join(''), greedy['Q:4817+2956=']);
      assert.ok(tokens.every((token) => token.top_logprobs.length === 2 && token.logprob <= 0));
      assert.ok((chat.usage?.total_tokens ?? 0) > 0);
    });

    it("takes an answer's message back in the conversation, as multi-turn code pushes it", async () => {
      const client = make();
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: '4817+2956' }];
      const first = await client.chat.completions.create({
        model: 'arithmetic-teacher',
        messages,
        temperature: 0,
      });
      messages.push(first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessage);
      messages.push({ role: 'user', content: '90719*8' });
      const next = await client.chat.completions.create({
        model: 'arithmetic-teacher',
        messages,
        temperature: 0,
      });
      assert.equal(next.choices[0]?.message.content, greedy['Q:90719*8=']);
      // The message the SDK's stream helper accumulates (it adds `parsed: null`), pushed back the same way;
      // openai@4 has the helper under `beta`.
      const helpers =
        'stream' in client.chat.completions
          ? client.chat.completions
          : (client as unknown as { beta: Pick<Client, 'chat'> }).beta.chat.completions;
      const streamed = await helpers
        .stream({ model: 'arithmetic-teacher', messages, temperature: 0 })
        .finalMessage();
      messages.push(streamed, { role: 'user', content: '4817+2956' });
      const third = await client.chat.completions.create({
        model: 'arithmetic-teacher',
        messages,
        temperature: 0,
      });
      assert.equal(third.choices[0]?.message.content, greedy['Q:4817+2956=']);
    });

    it('streams a chat with usage, and the same seed gives the same antidistilled text', async () => {
      const body = {
        model: 'arithmetic-teacher',
        messages: [{ role: 'user' as const, content: 'Q:90719*8=' }],
        temperature: 1,
        seed: 11,
        antidistillation: { lambda: 0.1 },
      };
      const stream = await make().chat.completions.create({
        ...body,
        stream: true,
        stream_options: { include_usage: true },
      } as OpenAI.ChatCompletionCreateParamsStreaming);
      let text = '';
      let role: string | undefined;
      let usage: OpenAI.CompletionUsage | undefined | null;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        const choice = chunk.choices[0];
        role ??= choice?.delta.role;
        text += choice?.delta.content ?? '';
        finish = choice?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }
      assert.equal(role, 'assistant');
      assert.ok(finish === 'stop' || finish === 'length');
      assert.ok((usage?.completion_tokens ?? 0) > 0);
      const whole = await make().chat.completions.create(
        body as OpenAI.ChatCompletionCreateParamsNonStreaming,
      );
      assert.equal(whole.choices[0]?.message.content, text);
      assert.equal(
        (whole as unknown as { antidistillation: { lambda: number } }).antidistillation.lambda,
        0.1,
      );
    });

    it('embeds with the default encoding (base64 little-endian float32) to unit vectors', async () => {
      const client = make();
      const response = await client.embeddings.create({ model: 'fmnist-embed-mf', input: SAMPLE_PNG });
      const vector = response.data[0]?.embedding as number[];
      assert.equal(vector.length, 64);
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);
      const floats = await client.embeddings.create({
        model: 'fmnist-embed-mf',
        input: [SAMPLE_PNG],
        encoding_format: 'float',
      });
      assert.deepEqual(floats.data[0]?.embedding, vector);
    });

    it('shows the server’s error message, with the status and the field', async () => {
      const client = make();
      await assert.rejects(
        client.chat.completions.create({
          model: 'arithmetic-teacher',
          messages: [{ role: 'user', content: 'what is 2+2?' }],
        }),
        (error: InstanceType<typeof OpenAI.APIError>) => {
          assert.equal(error.status, 400);
          assert.match(error.message, /"w" is not in the model's vocabulary/);
          assert.equal(error.param, 'messages.0.content');
          // The id of the request in the server's logs, where each SDK shows OpenAI's (v4 names it request_id).
          const id = error.requestID ?? (error as unknown as { request_id?: string }).request_id;
          assert.match(String(id), /^[0-9a-f-]{36}$/);
          return true;
        },
      );
      await assert.rejects(
        client.chat.completions.create({
          model: 'arithmetic-teacher',
          messages: [{ role: 'assistant', content: '1' }],
        }),
        (error: InstanceType<typeof OpenAI.APIError>) =>
          error.status === 400 && /last message must be the user/.test(error.message),
      );
      await assert.rejects(
        client.completions.create({ model: 'no-such-model', prompt: 'Q:1+2=' }),
        (error: InstanceType<typeof OpenAI.APIError>) =>
          error.status === 404 && /model 'no-such-model' is not served/.test(error.message),
      );
      await assert.rejects(
        client.embeddings.create({ model: 'fmnist-embed-mf', input: SAMPLE_PNG, dimensions: 32 }),
        (error: InstanceType<typeof OpenAI.APIError>) =>
          error.status === 400 && /64 dimensions/.test(error.message),
      );
    });
  });
}

describe('logit bias and repetition penalties through the openai SDK', () => {
  const client = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const { tokens } = JSON.parse(readFileSync(`${MODELS_DIR}arithmetic-task/spec.json`, 'utf8')) as {
    tokens: string[];
  };
  const id = (token: string) => String(tokens.indexOf(token));
  const prompt = 'Q:4817+2956=';

  it('−100 on <eos> runs the greedy text on to max_tokens; 100 on a digit makes every token that digit', async () => {
    const plain = await client().completions.create({
      model: 'arithmetic-teacher',
      prompt,
      temperature: 0,
      max_tokens: 80,
    });
    assert.equal(plain.choices[0]?.finish_reason, 'stop');
    const endless = await client().completions.create({
      model: 'arithmetic-teacher',
      prompt,
      temperature: 0,
      max_tokens: 80,
      logit_bias: { [id('<eos>')]: -100 },
    });
    assert.equal(endless.choices[0]?.finish_reason, 'length');
    assert.equal(endless.usage?.completion_tokens, 80);
    assert.ok(endless.choices[0]?.text.startsWith(plain.choices[0]?.text ?? '∅'));
    const sevens = await client().chat.completions.create({
      model: 'arithmetic-teacher',
      messages: [{ role: 'user', content: '4817+2956' }],
      temperature: 1,
      seed: 3,
      max_completion_tokens: 12,
      logit_bias: { [id('7')]: 100 },
    });
    assert.equal(sevens.choices[0]?.message.content, '7'.repeat(12));
  });

  it('penalties lower each reported log-probability by count × α_f + α_p, against the unpenalized teacher on the same prefix', async () => {
    const [frequency, presence] = [2, 1];
    const penalized = await client().completions.create({
      model: 'arithmetic-teacher',
      prompt,
      temperature: 0,
      max_tokens: 30,
      logprobs: 5,
      frequency_penalty: frequency,
      presence_penalty: presence,
    });
    const plain = await client().completions.create({
      model: 'arithmetic-teacher',
      prompt,
      temperature: 0,
      max_tokens: 30,
    });
    const text = penalized.choices[0]?.text ?? '';
    assert.notEqual(text, plain.choices[0]?.text, 'the penalties changed the greedy text');
    const logprobs = penalized.choices[0]?.logprobs;
    let compared = 0;
    for (const step of [6, 14, 22]) {
      const prefix = (logprobs?.tokens ?? []).slice(0, step);
      // The teacher's own distribution after this prefix: the same prompt and prefix, no penalty, one token.
      const teacher = await client().completions.create({
        model: 'arithmetic-teacher',
        prompt: prompt + prefix.join(''),
        temperature: 0,
        max_tokens: 1,
        logprobs: 5,
      });
      const before = teacher.choices[0]?.logprobs?.top_logprobs?.[0] ?? {};
      const after = logprobs?.top_logprobs?.[step] ?? {};
      const penalty = (token: string) => {
        const count = prefix.filter((sampled) => sampled === token).length;
        return count * frequency + (count > 0 ? presence : 0);
      };
      const shared = Object.keys(after).filter((token) => token in before);
      for (const token of shared.slice(1)) {
        const first = shared[0] as string;
        const shift =
          (after[token] as number) -
          (after[first] as number) -
          ((before[token] as number) - (before[first] as number));
        assert.ok(
          Math.abs(shift + penalty(token) - penalty(first)) < 1e-3,
          `step ${step}: ${token} vs ${first}: ${shift}`,
        );
        compared++;
      }
    }
    assert.ok(compared >= 3, `${compared} pairs compared`);
  });

  it('zero or null penalties and an empty bias sample what a request without them samples, bit for bit', async () => {
    const body = {
      model: 'arithmetic-teacher',
      prompt: [prompt, 'Q:90719*8='],
      temperature: 1,
      n: 2,
      seed: 5,
      logprobs: 1,
    };
    const without = await client().completions.create(body);
    const withZeros = await client().completions.create({
      ...body,
      frequency_penalty: 0,
      presence_penalty: null,
      logit_bias: {},
      user: 'user-42',
    });
    assert.deepEqual(withZeros.choices, without.choices);
    const penalized = { ...body, frequency_penalty: 0.7, logit_bias: { [id('|')]: -3 } };
    const once = await client().completions.create(penalized);
    const again = await client().completions.create(penalized);
    assert.deepEqual(again.choices, once.choices);
    assert.notDeepEqual(once.choices, without.choices);
  });
});

describe('echo through the openai SDK: a prompt scored as lm-evaluation-harness scores one', () => {
  const client = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const prompt = 'Q:4817+2956=';

  for (const [mode, sampling] of [
    ['greedy (the teacher at τ = 1)', { temperature: 0 }],
    [
      'antidistillation (the tilted distribution)',
      { temperature: 1, seed: 9, antidistillation: { lambda: 0.1 } },
    ],
  ] as const) {
    it(`gives a text's tokens, fed as the prompt, the log-probabilities they had when sampled: ${mode}`, async () => {
      const sampled = await client().completions.create({
        model: 'arithmetic-teacher',
        prompt,
        max_tokens: 12,
        logprobs: 3,
        ...sampling,
      } as OpenAI.CompletionCreateParamsNonStreaming);
      const text = sampled.choices[0]?.text ?? '';
      const scored = await client().completions.create({
        model: 'arithmetic-teacher',
        prompt: prompt + text,
        echo: true,
        max_tokens: 0,
        logprobs: 3,
        ...sampling,
      } as OpenAI.CompletionCreateParamsNonStreaming);
      const choice = scored.choices[0];
      assert.equal(choice?.text, prompt + text);
      assert.equal(scored.usage?.completion_tokens, 0);
      const logprobs = choice?.logprobs;
      assert.deepEqual(logprobs?.tokens, [...(prompt + text)]);
      assert.deepEqual(
        logprobs?.text_offset,
        [...(prompt + text)].map((_, i) => i),
      );
      const tail = (values: number[] | undefined) => (values ?? []).slice(prompt.length);
      const expected = sampled.choices[0]?.logprobs;
      tail(logprobs?.token_logprobs).forEach((value, i) => {
        assert.ok(Math.abs(value - (expected?.token_logprobs?.[i] as number)) < 1e-4, `token ${i}: ${value}`);
        const top = logprobs?.top_logprobs?.[prompt.length + i] ?? {};
        assert.deepEqual(Object.keys(top).sort(), Object.keys(expected?.top_logprobs?.[i] ?? {}).sort());
      });
    });
  }

  it('puts the prompt in front of a sampled completion, streamed or not, and offsets its tokens after it', async () => {
    const body = { model: 'arithmetic-teacher', prompt: [prompt, 'Q:12*3='], n: 2, seed: 4, temperature: 1 };
    const plain = await client().completions.create(body);
    const echoed = await client().completions.create({ ...body, echo: true, logprobs: 0 });
    echoed.choices.forEach((choice, index) => {
      const own = body.prompt[Math.floor(index / 2)] as string;
      assert.equal(choice.text, own + plain.choices[index]?.text);
      assert.equal(choice.logprobs?.text_offset?.at(-1), choice.text.length - 1);
    });
    const stream = await client().completions.create({
      ...body,
      prompt: prompt,
      n: 1,
      echo: true,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, prompt + plain.choices[0]?.text);
    const nothing = await client().completions.create({ model: 'arithmetic-teacher', prompt, max_tokens: 0 });
    assert.equal(nothing.choices[0]?.text, '');
    assert.equal(nothing.usage?.completion_tokens, 0);
  });
});

describe('completion bodies a client can get wrong', () => {
  const cases: Array<[string, object, string]> = [
    ['a penalty past 2', { frequency_penalty: 2.5 }, 'frequency_penalty'],
    ['a penalty as a string', { presence_penalty: '1' }, 'presence_penalty'],
    ['a bias key that is no token id', { logit_bias: { seven: 5 } }, 'logit_bias.seven'],
    ['a token id past the vocabulary', { logit_bias: { '20': 5 } }, 'logit_bias.20'],
    ['a bias past 100', { logit_bias: { '3': 101 } }, 'logit_bias.3'],
    ['a bias list', { logit_bias: [1] }, 'logit_bias'],
  ];
  for (const [what, fields, param] of cases) {
    for (const [route, body] of [
      ['/v1/completions', { prompt: 'Q:1+1=' }],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: '1+1' }] }],
    ] as const) {
      it(`answers ${what} on ${route} with a 400 in OpenAI's shape naming ${param}`, async () => {
        const response = await app.inject({ method: 'POST', url: route, payload: { ...body, ...fields } });
        assert.equal(response.statusCode, 400, response.body);
        const { error } = response.json();
        assert.equal(error.type, 'invalid_request_error');
        assert.equal(error.param, param, response.body);
      });
    }
  }
});

describe('chat bodies a client can get wrong', () => {
  const cases: Array<[string, unknown, string]> = [
    ['no messages', { messages: [] }, 'messages'],
    ['no user message', { messages: [{ role: 'system', content: 'Add.' }] }, 'messages.0'],
    ['an unknown role', { messages: [{ role: 'robot', content: '1+1' }] }, 'messages.0.role'],
    ['a tool message', { messages: [{ role: 'tool', content: '1+1' }] }, 'messages.0.role'],
    [
      'a character outside the vocabulary',
      { messages: [{ role: 'user', content: '1+x' }] },
      'messages.0.content',
    ],
    [
      'max_completion_tokens beyond the context (the field it came in, not max_tokens)',
      { messages: [{ role: 'user', content: '1+1' }], max_completion_tokens: 4096 },
      'max_completion_tokens',
    ],
    // Contradictions were settled without a word: alternatives dropped, one limit of two kept.
    [
      'top_logprobs without logprobs: true',
      { messages: [{ role: 'user', content: '1+1' }], top_logprobs: 3 },
      'top_logprobs',
    ],
    [
      'max_tokens and max_completion_tokens that differ',
      { messages: [{ role: 'user', content: '1+1' }], max_tokens: 1, max_completion_tokens: 5 },
      'max_completion_tokens',
    ],
  ];
  it('takes what does not contradict: top_logprobs 0 alone, and one limit under both names', async () => {
    for (const fields of [
      { top_logprobs: 0, logprobs: false },
      { max_tokens: 3, max_completion_tokens: 3 },
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: { messages: [{ role: 'user', content: '1+1' }], ...fields },
      });
      assert.equal(response.statusCode, 200, response.body);
    }
  });
  for (const [what, body, param] of cases) {
    it(`answers ${what} with a 400 in OpenAI's shape naming ${param}`, async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: body as object,
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      const { error } = response.json();
      assert.equal(error.type, 'invalid_request_error');
      assert.ok(error.message.length > 0);
      assert.ok(error.param?.startsWith(param), `${error.param} names ${param}`);
    });
  }
});

// The SDK's types let a program send null for every optional field OpenAI's API takes null for — as
// `temperature: settings.temperature ?? null` does — and OpenAI takes null as not given. Each of them, sent
// as null through the SDK, must answer what the request without it answers.
describe('fields sent as null through the openai SDK, as its types allow', () => {
  const client = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });

  it('chat completions: every nullable field null gives the answer of the request without them', async () => {
    const request = {
      model: 'arithmetic-teacher',
      messages: [{ role: 'user' as const, content: '4817+2956' }],
    };
    const plain = await client().chat.completions.create({ ...request, seed: 3, max_tokens: 40 });
    const nulls = await client().chat.completions.create({
      ...request,
      seed: 3,
      max_tokens: 40,
      audio: null,
      frequency_penalty: null,
      logprobs: null,
      max_completion_tokens: null,
      metadata: null,
      modalities: null,
      n: null,
      prediction: null,
      presence_penalty: null,
      prompt_cache_key: null,
      reasoning_effort: null,
      safety_identifier: null,
      service_tier: null,
      stop: null,
      store: null,
      stream: null,
      stream_options: null,
      temperature: null,
      top_logprobs: null,
      top_p: null,
      verbosity: null,
    });
    assert.equal(nulls.choices[0]?.message.content, plain.choices[0]?.message.content);
    assert.equal(nulls.choices.length, 1);
    // With seed and max_tokens null too: the defaults (a drawn seed, the rest of the context).
    const defaults = await client().chat.completions.create({ ...request, seed: null, max_tokens: null });
    assert.equal(typeof (defaults as unknown as { seed: unknown }).seed, 'number');
    assert.ok((defaults.choices[0]?.message.content ?? '').length > 0);
  });

  it('completions: every nullable field null gives the answer of the request without them', async () => {
    const request = { model: 'arithmetic-teacher', prompt: 'Q:4817+2956=', seed: 3 };
    const plain = await client().completions.create(request);
    const nulls = await client().completions.create({
      ...request,
      best_of: null,
      echo: null,
      frequency_penalty: null,
      logit_bias: null,
      logprobs: null,
      max_tokens: null,
      n: null,
      presence_penalty: null,
      stop: null,
      stream: null,
      stream_options: null,
      suffix: null,
      temperature: null,
      top_p: null,
    });
    assert.equal(nulls.choices[0]?.text, plain.choices[0]?.text);
  });

  it('responses: nullable fields null give the answer of the request without them', async () => {
    const request = { model: 'arithmetic-teacher', input: '4817+2956', temperature: 0 };
    const plain = await client().responses.create(request);
    const nulls = await client().responses.create({
      ...request,
      instructions: null,
      max_output_tokens: null,
      metadata: null,
      previous_response_id: null,
      store: null,
      top_p: null,
      top_logprobs: null,
      include: null,
      stream: null,
    });
    assert.equal(nulls.output_text, plain.output_text);
  });

  it('store: false, OpenAI’s default that the AI SDK sends, is taken; store: true is a 400 naming it and false', async () => {
    const request = {
      model: 'arithmetic-teacher',
      messages: [{ role: 'user' as const, content: '4817+2956' }],
    };
    const kept = await client().chat.completions.create({ ...request, temperature: 0, store: false });
    assert.equal(kept.choices[0]?.message.content, greedy['Q:4817+2956=']);
    await assert.rejects(
      client().chat.completions.create({ ...request, store: true }),
      (error: InstanceType<typeof OpenAI.APIError>) =>
        error.status === 400 && error.param === 'store' && error.message.includes('must be false'),
    );
  });

  // The OpenAI Agents SDK (@openai/agents 0.20) cannot sit beside openai@4 and @5 in devDependencies (it
  // needs zod 4 where they take zod 3 as a peer): the history it sends, captured from it, goes through the SDK.
  it("takes an agent's history: the OpenAI Agents SDK sends its answers' parts with role and refusal", async () => {
    const answer = await client().chat.completions.create({
      model: 'arithmetic-teacher',
      temperature: 0,
      messages: [
        { role: 'system', content: 'Add the numbers.' },
        { role: 'user', content: '4817+2956' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: greedy['Q:4817+2956='] as string, role: 'assistant', refusal: null },
          ] as unknown as OpenAI.Chat.ChatCompletionContentPartText[],
        },
        { role: 'user', content: '90719*8' },
      ],
    });
    assert.equal(answer.choices[0]?.message.content, greedy['Q:90719*8=']);
  });

  it('takes the successors of user: safety_identifier and prompt_cache_key', async () => {
    const answer = await client().chat.completions.create({
      model: 'arithmetic-teacher',
      messages: [{ role: 'user', content: '4817+2956' }],
      temperature: 0,
      safety_identifier: 'hashed-user-1',
      prompt_cache_key: 'arithmetic',
    });
    assert.equal(answer.choices[0]?.message.content, greedy['Q:4817+2956=']);
  });

  it('a field this server does not serve is still a 400 naming it when it asks for something', async () => {
    await assert.rejects(
      client().chat.completions.create({
        model: 'arithmetic-teacher',
        messages: [{ role: 'user', content: '1+1' }],
        service_tier: 'flex',
      }),
      (error: InstanceType<typeof OpenAI.APIError>) =>
        error.status === 400 && /service_tier/.test(error.message),
    );
  });

  it('shows a 404 naming the endpoint for what is not served (images, files, deleting a model)', async () => {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['POST /v1/images/generations', () => client().images.generate({ prompt: 'a shoe' })],
      ['GET /v1/files', () => client().files.list()],
      ['DELETE /v1/models/arithmetic-teacher', () => client().models.delete('arithmetic-teacher')],
    ];
    for (const [endpoint, call] of calls) {
      await assert.rejects(call(), (error: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(error.status, 404);
        assert.equal(error.message, `404 no route ${endpoint}; see /docs`);
        return true;
      });
    }
  });
});

// The Vercel AI SDK's chat model (`openai.chat(model)`, Chat Completions) beside its default Responses one
// (test/responses.test.ts): a conversation with a system prompt, a stream with its usage, and the provider
// options a program sets (logprobs, store: false, user).
describe("the Vercel AI SDK's chat model", () => {
  const chatModel = () =>
    createOpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' }).chat('arithmetic-teacher');

  it('answers a conversation by its last user message, whole and streamed', async () => {
    const whole = await generateText({
      model: chatModel(),
      system: 'be terse',
      messages: [
        { role: 'user', content: '12+3' },
        { role: 'assistant', content: '2+3+0=5|1+0+0=1|A:15' },
        { role: 'user', content: [{ type: 'text', text: '4817+2956' }] },
      ],
      temperature: 0,
      providerOptions: { openai: { store: false, user: 'u1', logprobs: 2 } },
    });
    assert.equal(whole.text, greedy['Q:4817+2956=']);
    const logprobs = (whole.providerMetadata?.openai?.logprobs ?? []) as Array<{ top_logprobs: unknown[] }>;
    assert.equal(logprobs[0]?.top_logprobs.length, 2);
    const streamed = streamText({ model: chatModel(), prompt: '4817+2956', temperature: 0 });
    let text = '';
    for await (const piece of streamed.textStream) text += piece;
    assert.equal(text, greedy['Q:4817+2956=']);
    assert.ok(((await streamed.usage).outputTokens ?? 0) > 0);
  });
});

describe("the Vercel AI SDK's embedding model", () => {
  it('embeds a base64 PNG with embed and embedMany: the vectors the route gives', async () => {
    const model = createOpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' }).embedding('fmnist-embed-mf');
    const direct = await new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' }).embeddings.create({
      model: 'fmnist-embed-mf',
      input: SAMPLE_PNG,
      encoding_format: 'float',
    });
    const expected = direct.data[0]?.embedding;
    assert.equal(expected?.length, 64);
    assert.deepEqual((await embed({ model, value: SAMPLE_PNG, maxRetries: 0 })).embedding, expected);
    const many = await embedMany({ model, values: [SAMPLE_PNG, SAMPLE_PNG], maxRetries: 0 });
    assert.deepEqual(many.embeddings, [expected, expected]);
  });
});
