// The LLM frameworks most programs reach an OpenAI-compatible server through, configured as their users
// configure them (a base URL and a model name). LangChain (@langchain/openai): its chat model over chat
// completions and over the Responses API (`useResponsesApi`, which sends `text: {}` and message items),
// whole, streamed and in a conversation whose answers go back as LangChain keeps them; its completion model;
// its embeddings of base64 PNGs; what it shows for tools. LlamaIndex (@llamaindex/openai, on openai@5): its
// chat-completions and Responses models (the latter sends `reasoning: {}`, `truncation: null`,
// `instructions: ""` on every call), whole, streamed and in a conversation; its embeddings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { AIMessageChunk, BaseMessage } from '@langchain/core/messages';
import { AIMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI, OpenAI, OpenAIEmbeddings } from '@langchain/openai';
import type { ChatMessage, LLM } from '@llamaindex/core/llms';
import {
  OpenAIEmbedding as LlamaIndexEmbedding,
  OpenAI as LlamaIndexOpenAI,
  OpenAIResponses as LlamaIndexResponses,
} from '@llamaindex/openai';
import type { FastifyInstance } from 'fastify';
import { SAMPLE_PNG } from '../src/schemas/retrieval.js';
import { listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';

const greedy = JSON.parse(readFileSync(`${MODELS_DIR}arithmetic-teacher/greedy.json`, 'utf8')) as Record<
  string,
  string
>;

let app: FastifyInstance;
let connection: { apiKey: string; maxRetries: number; configuration: { baseURL: string } };
before(async () => {
  app = await startApp({});
  connection = { apiKey: 'unused', maxRetries: 0, configuration: { baseURL: `${await listen(app)}/v1` } };
});
after(() => stopApp(app));

/** The text of an answer: a string over chat completions, content blocks over the Responses API. */
function textOf(message: BaseMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

for (const useResponsesApi of [false, true]) {
  const api = useResponsesApi ? 'the Responses API' : 'chat completions';
  describe(`LangChain's ChatOpenAI over ${api}`, () => {
    const chat = () =>
      new ChatOpenAI({ ...connection, model: 'arithmetic-teacher', temperature: 0, useResponsesApi });

    it("answers a question with the teacher's greedy text", async () => {
      const answer = await chat().invoke('4817+2956');
      assert.equal(textOf(answer), greedy['Q:4817+2956=']);
      assert.ok((answer.usage_metadata?.output_tokens ?? 0) > 0);
    });

    it('streams chunks that add up to the same text, with usage at the end', async () => {
      let whole: AIMessageChunk | undefined;
      for await (const chunk of await chat().stream('4817+2956')) whole = whole?.concat(chunk) ?? chunk;
      assert.ok(whole !== undefined);
      assert.equal(textOf(whole), greedy['Q:4817+2956=']);
      assert.ok((whole.usage_metadata?.output_tokens ?? 0) > 0);
    });

    it('keeps a conversation: a system message and its own answers sent back, whole and streamed', async () => {
      const history: BaseMessage[] = [new SystemMessage('Add the numbers.'), new HumanMessage('4817+2956')];
      history.push(await chat().invoke(history), new HumanMessage('123+4567'));
      let streamed: AIMessageChunk | undefined;
      for await (const chunk of await chat().stream(history)) streamed = streamed?.concat(chunk) ?? chunk;
      assert.ok(streamed !== undefined);
      history.push(streamed, new HumanMessage('7+5'));
      const last = await chat().invoke(history);
      assert.ok(history[2] instanceof AIMessage);
      assert.deepEqual(
        [textOf(history[2]), textOf(streamed), textOf(last)],
        [greedy['Q:4817+2956='], greedy['Q:123+4567='], greedy['Q:7+5=']],
      );
    });

    it("shows the server's message for what the teacher does not serve", async () => {
      const tool = { type: 'function' as const, function: { name: 'add', parameters: { type: 'object' } } };
      await assert.rejects(
        chat().bindTools([tool]).invoke('1+2'),
        useResponsesApi ? /\/body\/tools: must be empty/ : /\/body\/tools: unknown field/,
      );
    });
  });
}

describe("LangChain's OpenAI completion model", () => {
  it('completes prompts one by one and in a batch', async () => {
    const llm = new OpenAI({ ...connection, model: 'arithmetic-teacher', temperature: 0 });
    assert.equal(await llm.invoke('Q:4817+2956='), greedy['Q:4817+2956=']);
    assert.deepEqual(await llm.batch(['Q:123+4567=', 'Q:7+5=']), [greedy['Q:123+4567='], greedy['Q:7+5=']]);
  });
});

/** The vector POST /v1/embeddings gives for SAMPLE_PNG, asked for directly. */
async function sampleEmbedding(): Promise<number[]> {
  const direct = await app.inject({
    method: 'POST',
    url: '/v1/embeddings',
    payload: { model: 'fmnist-embed-mf', input: SAMPLE_PNG, encoding_format: 'float' },
  });
  const vector = direct.json().data[0].embedding as number[];
  assert.equal(vector.length, 64);
  return vector;
}

describe("LangChain's OpenAIEmbeddings", () => {
  it('embeds base64 PNGs as documents and as a query: the vectors the route gives', async () => {
    const embeddings = new OpenAIEmbeddings({ ...connection, model: 'fmnist-embed-mf' });
    const expected = await sampleEmbedding();
    assert.deepEqual(await embeddings.embedDocuments([SAMPLE_PNG, SAMPLE_PNG]), [expected, expected]);
    assert.deepEqual(await embeddings.embedQuery(SAMPLE_PNG), expected);
  });
});

describe("LlamaIndex's OpenAI models", () => {
  type OpenAIResponsesOptions = NonNullable<LlamaIndexResponses['additionalChatOptions']>;
  const settings = () => ({ apiKey: 'unused', maxRetries: 0, baseURL: connection.configuration.baseURL });
  const models: Array<[string, () => LLM]> = [
    [
      'chat completions',
      () => new LlamaIndexOpenAI({ ...settings(), model: 'arithmetic-teacher', temperature: 0 }),
    ],
    [
      // Version 0.4.22 keeps a temperature but leaves it out of its Responses requests; its options bag
      // passes one through (its types omit the field).
      'the Responses API',
      () =>
        new LlamaIndexResponses({
          ...settings(),
          model: 'arithmetic-teacher',
          additionalChatOptions: { temperature: 0 } as OpenAIResponsesOptions,
        }),
    ],
  ];
  for (const [api, model] of models) {
    it(`answers over ${api}, whole, streamed and in a conversation`, async () => {
      const question: ChatMessage[] = [{ role: 'user', content: '4817+2956' }];
      const whole = await model().chat({ messages: question });
      let streamed = '';
      for await (const chunk of await model().chat({ messages: question, stream: true })) {
        // Its Responses stream yields the last delta again with each closing event (its stream state keeps
        // it; so it would against OpenAI): only text deltas count. Chat chunks carry no type.
        const type = (chunk.raw as { type?: string } | null)?.type;
        if (type === undefined || type === 'response.output_text.delta') streamed += chunk.delta;
      }
      const conversation: ChatMessage[] = [
        { role: 'system', content: 'Add the numbers.' },
        ...question,
        whole.message,
        { role: 'user', content: '7+5' },
      ];
      const next = await model().chat({ messages: conversation });
      assert.deepEqual(
        [whole.message.content, streamed, next.message.content],
        [greedy['Q:4817+2956='], greedy['Q:4817+2956='], greedy['Q:7+5=']],
      );
    });
  }

  it('completes a prompt', async () => {
    const llm = new LlamaIndexOpenAI({ ...settings(), model: 'arithmetic-teacher', temperature: 0 });
    assert.equal((await llm.complete({ prompt: '4817+2956' })).text, greedy['Q:4817+2956=']);
  });

  it('embeds base64 PNGs: the vectors the route gives', async () => {
    const embedding = new LlamaIndexEmbedding({ ...settings(), model: 'fmnist-embed-mf' });
    const expected = await sampleEmbedding();
    assert.deepEqual(await embedding.getTextEmbeddings([SAMPLE_PNG, SAMPLE_PNG]), [expected, expected]);
  });
});
