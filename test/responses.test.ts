// POST /v1/responses through the real clients that call it: the OpenAI SDK's responses.create and
// responses.stream (whose accumulator checks the order of the events), and the Vercel AI SDK, whose default
// OpenAI model is the Responses API (createOpenAI(...)(model)) — it answered 404 here before the route. The
// text is the chat route's for the same problem and seed; errors take OpenAI's shape naming the field; a
// client that leaves stops the generation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';
import { assertDecodingStopped, generatedTokens, LONG_GENERATION_TOKENS } from './helpers/generation.js';

const greedy = JSON.parse(readFileSync(`${MODELS_DIR}arithmetic-teacher/greedy.json`, 'utf8')) as Record<
  string,
  string
>;
const PROBLEM = '4817+2956';
const GREEDY = greedy[`Q:${PROBLEM}=`] as string;

describe('the Responses API', () => {
  let app: FastifyInstance;
  let base: string;
  let openai: OpenAI;
  before(async () => {
    app = await startApp();
    base = await listen(app);
    openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => stopApp(app));

  const chatText = async (body: object) => {
    const reply = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: body });
    assert.equal(reply.statusCode, 200, reply.body);
    return reply.json().choices[0].message.content as string;
  };

  it("answers responses.create with the teacher's greedy text, its usage and the Response's fields", async () => {
    const response = await openai.responses.create({
      model: 'arithmetic-teacher',
      input: PROBLEM,
      temperature: 0,
      instructions: 'answer with the working',
      metadata: { run: 'a' },
    });
    assert.equal(response.output_text, GREEDY);
    assert.equal(response.object, 'response');
    assert.match(response.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(response.status, 'completed');
    assert.equal(response.instructions, 'answer with the working');
    assert.deepEqual(response.metadata, { run: 'a' });
    assert.equal(response.output.length, 1);
    const message = response.output[0] as OpenAI.Responses.ResponseOutputMessage;
    assert.equal(message.role, 'assistant');
    assert.match(message.id, /^msg_/);
    const usage = response.usage as OpenAI.Responses.ResponseUsage;
    // <bos>, Q, :, the nine characters and =; the text and <eos>.
    assert.equal(usage.input_tokens, PROBLEM.length + 4);
    assert.equal(usage.output_tokens, GREEDY.length + 1);
    assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
  });

  it('takes the text settings clients send for plain text: `{}`, format text, verbosity medium or null', async () => {
    for (const text of [
      {},
      { verbosity: 'medium' },
      { format: { type: 'text' }, verbosity: null },
    ] as const) {
      const response = await openai.responses.create({
        model: 'arithmetic-teacher',
        input: PROBLEM,
        temperature: 0,
        text,
      });
      assert.equal(response.output_text, GREEDY, JSON.stringify(text));
    }
  });

  it('takes the defaults clients spell out: reasoning {}, truncation disabled, the successors of user', async () => {
    const response = await openai.responses.create({
      model: 'arithmetic-teacher',
      input: PROBLEM,
      temperature: 0,
      reasoning: { effort: null, summary: null },
      truncation: 'disabled',
      safety_identifier: 'hashed-user-1',
      prompt_cache_key: 'arithmetic',
      instructions: '',
      user: '',
    });
    assert.equal(response.output_text, GREEDY);
    const empty = await app.inject({
      method: 'POST',
      url: '/v1/responses',
      payload: { input: PROBLEM, temperature: 0, reasoning: {} },
    });
    assert.equal(empty.json().output[0].content[0].text, GREEDY);
  });

  it("takes an agent's request: the OpenAI Agents SDK sends include [] and tools [] for an agent without tools", async () => {
    // Captured from @openai/agents 0.20 (it cannot be a dev dependency beside openai@4 and @5: zod 4 against 3).
    const response = await openai.responses.create({
      model: 'arithmetic-teacher',
      instructions: 'Add the numbers.',
      input: [{ role: 'user', content: PROBLEM }],
      include: [],
      tools: [],
      temperature: 0,
    });
    assert.equal(response.output_text, GREEDY);
  });

  it('reads messages as a chat does: the same text for the same seed, antidistillation included', async () => {
    const input = [
      { role: 'system' as const, content: 'be terse' },
      { role: 'user' as const, content: [{ type: 'input_text' as const, text: PROBLEM }] },
    ];
    const sampled = { temperature: 1, seed: 11, antidistillation: { lambda: 0.5 } };
    // seed and antidistillation are this server's fields: the SDK passes them on as they are.
    const response = await openai.responses.create({
      input,
      ...sampled,
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    const chat = await chatText({ messages: [{ role: 'user', content: PROBLEM }], ...sampled });
    assert.equal(response.output_text, chat);
    assert.notEqual(chat, GREEDY);
    const extras = response as unknown as { seed: number; antidistillation: { lambda: number } };
    assert.equal(extras.seed, 11);
    assert.equal(extras.antidistillation.lambda, 0.5);
  });

  it("takes an answer's output back as input, as the SDK's manual conversation state does, logprobs and all", async () => {
    for (const include of [[], ['message.output_text.logprobs' as const]]) {
      const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: PROBLEM }];
      const first = await openai.responses.create({ input, temperature: 0, include, top_logprobs: 2 });
      const next = await openai.responses.create({
        // The output's message items, as a text-only program keeps them.
        input: [
          ...input,
          ...(first.output as OpenAI.Responses.ResponseOutputMessage[]),
          { role: 'user', content: '90719*8' },
        ],
        temperature: 0,
      });
      // The teacher keeps no conversation: the last user message alone decides the answer.
      assert.equal(next.output_text, greedy['Q:90719*8=']);
    }
    // The Response the SDK's stream helper accumulates (its text parts carry `parsed: null`), sent back.
    const streamed = await openai.responses.stream({ input: PROBLEM, temperature: 0 }).finalResponse();
    const after = await openai.responses.create({
      input: [
        { role: 'user', content: PROBLEM },
        ...(streamed.output as OpenAI.Responses.ResponseOutputMessage[]),
        { role: 'user', content: '90719*8' },
      ],
      temperature: 0,
    });
    assert.equal(after.output_text, greedy['Q:90719*8=']);
  });

  it('streams the events responses.stream accumulates into the same Response', async () => {
    const stream = openai.responses.stream({
      input: PROBLEM,
      temperature: 1,
      seed: 5,
    } as unknown as OpenAI.Responses.ResponseCreateParamsStreaming);
    const types: string[] = [];
    let deltas = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') deltas += event.delta;
    }
    const final = await stream.finalResponse();
    assert.equal(final.output_text, deltas);
    assert.equal(
      final.output_text,
      await chatText({ messages: [{ role: 'user', content: PROBLEM }], seed: 5 }),
    );
    assert.equal(final.status, 'completed');
    const opening = [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ];
    const closing = [
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ];
    assert.deepEqual(types.slice(0, 4), opening);
    assert.deepEqual(types.slice(-4), closing);
    assert.ok(types.slice(4, -4).every((type) => type === 'response.output_text.delta'));
  });

  it('ends incomplete at max_output_tokens, streamed or not', async () => {
    const whole = await openai.responses.create({ input: PROBLEM, temperature: 0, max_output_tokens: 5 });
    assert.equal(whole.status, 'incomplete');
    assert.deepEqual(whole.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(whole.output_text, GREEDY.slice(0, 5));
    const stream = openai.responses.stream({ input: PROBLEM, temperature: 0, max_output_tokens: 5 });
    let last = '';
    for await (const event of stream) last = event.type;
    assert.equal(last, 'response.incomplete');
    assert.equal((await stream.finalResponse()).output_text, GREEDY.slice(0, 5));
  });

  it("serves the Vercel AI SDK's default OpenAI model, whole and streamed", async () => {
    const model = createOpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' })('arithmetic-teacher');
    const whole = await generateText({ model, prompt: PROBLEM, temperature: 0, maxRetries: 0 });
    assert.equal(whole.text, GREEDY);
    assert.equal(whole.finishReason, 'stop');
    assert.equal(whole.usage.outputTokens, GREEDY.length + 1);
    const errors: unknown[] = [];
    const streamed = streamText({
      model,
      prompt: PROBLEM,
      temperature: 0,
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    let text = '';
    for await (const piece of streamed.textStream) text += piece;
    assert.deepEqual(errors, []);
    assert.equal(text, GREEDY);
    const cut = await generateText({
      model,
      prompt: PROBLEM,
      temperature: 0,
      maxOutputTokens: 3,
      maxRetries: 0,
    });
    assert.equal(cut.finishReason, 'length');
  });

  it("includes the output text's log-probabilities: those chat gives, whole, per delta and through the AI SDK", async () => {
    const asked = { include: ['message.output_text.logprobs' as const], top_logprobs: 3 };
    const create = async (body: object) => {
      const response = await openai.responses.create(
        body as OpenAI.Responses.ResponseCreateParamsNonStreaming,
      );
      const part = response.output[0]?.type === 'message' ? response.output[0].content[0] : undefined;
      return {
        text: response.output_text,
        logprobs: part?.type === 'output_text' ? part.logprobs : undefined,
      };
    };
    const sampled = { input: '90719*8', temperature: 1, seed: 4 };
    const { text, logprobs = [] } = await create({ ...sampled, ...asked });
    assert.equal(logprobs.map((entry) => entry.token).join(''), text);
    const chat = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: {
        messages: [{ role: 'user', content: sampled.input }],
        temperature: 1,
        seed: 4,
        logprobs: true,
        top_logprobs: 3,
      },
    });
    assert.deepEqual(logprobs, chat.json().choices[0].logprobs.content);
    for (const entry of logprobs) {
      const alternatives = entry.top_logprobs.map((top) => top.logprob);
      assert.deepEqual(
        alternatives,
        [...alternatives].sort((a, b) => b - a),
        'most likely first',
      );
    }
    assert.deepEqual((await create({ ...sampled, top_logprobs: 3 })).logprobs, [], 'none without include');

    const stream = openai.responses.stream({
      ...sampled,
      ...asked,
    } as Parameters<typeof openai.responses.stream>[0]);
    const deltas: Array<{ delta: string; tokens: string }> = [];
    stream.on('response.output_text.delta', (event) => {
      deltas.push({ delta: event.delta, tokens: event.logprobs.map((entry) => entry.token).join('') });
    });
    await stream.finalResponse();
    assert.ok(deltas.length > 5, `${deltas.length} deltas`);
    for (const { delta, tokens } of deltas) assert.equal(tokens, delta);

    // The AI SDK's `logprobs` option asks for them (it sends no seed to the Responses API: greedy here).
    const greedyOnes = (await create({ input: PROBLEM, temperature: 0, ...asked })).logprobs ?? [];
    const model = createOpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' })('arithmetic-teacher');
    const sdk = await generateText({
      model,
      prompt: PROBLEM,
      temperature: 0,
      maxRetries: 0,
      providerOptions: { openai: { logprobs: 3 } },
    });
    const withoutBytes = greedyOnes.map(({ bytes: _, top_logprobs, ...entry }) => ({
      ...entry,
      top_logprobs: top_logprobs.map(({ bytes: __, ...top }) => top),
    }));
    assert.deepEqual((sdk.providerMetadata?.openai?.logprobs as unknown[] | undefined)?.[0], withoutBytes);
  });

  for (const [what, body, param] of [
    [
      'an include that is not served',
      { input: PROBLEM, include: ['reasoning.encrypted_content'] },
      'include.0',
    ],
    ['a tool (not served)', { input: PROBLEM, tools: [{ type: 'web_search' }] }, 'tools'],
    ['text outside the vocabulary', { input: 'hello' }, 'input'],
    [
      'a last message that is not the user’s',
      {
        input: [
          { role: 'user', content: PROBLEM },
          { role: 'assistant', content: '1' },
        ],
      },
      'input.1.role',
    ],
    ['store: true (responses are not stored)', { input: PROBLEM, store: true }, 'store'],
    ['a verbosity the teacher cannot vary', { input: PROBLEM, text: { verbosity: 'low' } }, 'text.verbosity'],
    [
      'a reasoning effort (the teacher does not reason)',
      { input: PROBLEM, reasoning: { effort: 'low' } },
      'reasoning.effort',
    ],
    ['truncation auto (an input is never cut)', { input: PROBLEM, truncation: 'auto' }, 'truncation'],
    [
      'a metadata key past 64 characters',
      { input: PROBLEM, metadata: { ['k'.repeat(65)]: 'v' } },
      `metadata.${'k'.repeat(65)}`,
    ],
    [
      'max_output_tokens beyond the context',
      { input: PROBLEM, max_output_tokens: 4096 },
      'max_output_tokens',
    ],
    ['an unknown model (404, as OpenAI answers it)', { input: PROBLEM, model: 'nope' }, null],
  ] as const) {
    it(`refuses ${what} in OpenAI's error shape, naming ${param ?? 'no field'}`, async () => {
      const error = await openai.responses
        .create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
        .then(
          () => assert.fail('accepted'),
          (caught: unknown) => caught,
        );
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, param === null ? 404 : 400);
      assert.equal(error.param, param);
      assert.ok(error.message.length > 10, error.message);
    });
  }

  it('stops generating when a streaming client disconnects', async () => {
    const body = { input: PROBLEM, temperature: 0 };
    const start = await generatedTokens(app);
    const whole = await app.inject({ method: 'POST', url: '/v1/responses', payload: body });
    assert.equal(whole.statusCode, 200, whole.body);
    const uncut = (await generatedTokens(app)) - start;
    const before = await generatedTokens(app);
    // Sixteen at once, each cut at its first event (sent before any token): uncut, they would make 16 × uncut.
    const streams = 16;
    await Promise.all(
      Array.from(
        { length: streams },
        () =>
          new Promise<void>((resolve, reject) => {
            const request = httpRequest(
              `${base}/v1/responses`,
              { method: 'POST', headers: { 'content-type': 'application/json' } },
              (response) => {
                response.once('data', () => {
                  request.destroy();
                  resolve();
                });
              },
            );
            request.on('error', reject);
            request.end(JSON.stringify({ ...body, stream: true }));
          }),
      ),
    );
    await assertDecodingStopped(app, before, (streams * uncut) / 4 / LONG_GENERATION_TOKENS);
  });
});
