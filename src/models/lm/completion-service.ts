// The completions service behind POST /v1/completions, /v1/chat/completions, /v1/responses and Triton's
// generate extension (/v2/models/{name}/generate, generate_stream): a request is checked and planned (every
// 4xx before anything is sent), takes one of GENERATION_CONCURRENCY slots — waiting in a bounded FIFO
// (GENERATION_QUEUE_LIMIT; then 503) while all are taken — runs on the decoder threads, and its answer is
// assembled in its API's shapes — text completions or chat completions, the whole reply or the chunks of a
// stream (responses: response-shapes.ts), Triton's generate answers — with the seed, a system fingerprint of
// every model and, for antidistillation, the settings used. Routes reach it as `fastify.completions`.
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import {
  type FieldError,
  InvalidInputError,
  NotFoundError,
  OverloadedError,
  throwFieldErrors,
} from '../../errors.js';
import { joinQueue, type Waiter } from '../../lib/abortable-queue.js';
import { seedOrRandom } from '../../lib/random.js';
import {
  type ChatCompletionBody,
  type ChatCompletionReply,
  type CompletionBody,
  type CompletionReply,
  MAX_SEQUENCES,
} from '../../schemas/completions.js';
import type { GenerateBody, GenerateReply } from '../../schemas/generate.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import type { ResponseBody } from '../../schemas/responses.js';
import type { ModelRegistry } from '../registry.js';
import { type ChatMessage, chatPrompt, type MessagePath } from './chat-template.js';
import {
  type CompletionInput,
  type CompletionPlan,
  type InputPaths,
  planCompletion,
  runCompletion,
} from './completions.js';
import type { Generated, TokenLogprobs } from './generate.js';
import { type GenerationMetrics, type GenerationMode, observeRun } from './generation-observer.js';
import { DEFAULT_TEACHER, languageModelOf, vocabularyOf } from './language-models.js';

export interface CompletionCounters extends GenerationMetrics {
  /** Completions generating now: +1 when one starts, −1 when it ends. */
  active(change: 1 | -1): void;
  /** Completions waiting for a generation slot: +1 when one joins the queue, −1 when it leaves. */
  queued(change: 1 | -1): void;
}

export interface GenerationLimits {
  /** Completions generating at once (GENERATION_CONCURRENCY). */
  concurrency: number;
  /** Completions waiting for a slot at most (GENERATION_QUEUE_LIMIT); one more is a 503. */
  queueLimit: number;
}

export interface CompletionCallbacks {
  /** `logprobs`: every token's entry so far when the request asked for them (by text offset). */
  onText?: (index: number, piece: string, logprobs?: TokenLogprobs) => void;
  onDone?: (index: number, result: Generated) => void;
}

type Reply = Static<typeof CompletionReply>;
type ChatReply = Static<typeof ChatCompletionReply>;
type Format = 'text' | 'chat' | 'response' | 'generate';

/** OpenAI's ids: cmpl-…, chatcmpl-…, resp_… (hex, as OpenAI's); Triton's generate answers name none. */
const ID_PREFIX: Record<Format, () => string> = {
  text: () => `cmpl-${randomUUID()}`,
  chat: () => `chatcmpl-${randomUUID()}`,
  response: () => `resp_${randomUUID().replaceAll('-', '')}`,
  generate: () => randomUUID(),
};

const modelRef = (entry: ManifestEntry) => ({
  name: entry.name,
  version: entry.version,
  sha256: entry.sha256,
});

/** OpenAI's chat logprobs from the text-completion ones: each token with its bytes and its alternatives. */
export function chatLogprobs(logprobs: TokenLogprobs | undefined): ChatReply['choices'][number]['logprobs'] {
  if (logprobs === undefined) return null;
  const entry = (token: string, logprob: number) => ({
    token,
    logprob,
    bytes: [...Buffer.from(token, 'utf8')],
  });
  return {
    content: logprobs.tokens.map((token, index) => ({
      ...entry(token, logprobs.token_logprobs[index] as number),
      // Most likely first, as OpenAI lists them: an object's digit keys iterate in numeric order instead.
      top_logprobs: Object.entries(logprobs.top_logprobs?.[index] ?? {})
        .sort(([, a], [, b]) => b - a)
        .map(([alternative, logprob]) => entry(alternative, logprob)),
    })),
  };
}

/** One planned completion holding a generation slot until `close()`. */
export class Completion {
  readonly head: { id: string; created: number; model: string };
  /** What every finished answer names: seed, system fingerprint, models, antidistillation settings. */
  readonly extras: Pick<Reply, 'seed' | 'system_fingerprint' | 'models' | 'antidistillation'>;
  readonly mode: GenerationMode;
  private closed = false;

  constructor(
    readonly plan: CompletionPlan,
    readonly seed: number,
    private readonly format: Format,
    private readonly models: ModelRegistry,
    private readonly counters: CompletionCounters,
    private readonly release: () => void,
  ) {
    const { teacher, pair } = plan.models;
    const entries = pair === undefined ? [teacher] : [teacher, pair.plus, pair.minus];
    this.head = {
      id: ID_PREFIX[format](),
      created: Math.floor(Date.now() / 1000),
      model: teacher.name,
    };
    this.extras = {
      seed,
      system_fingerprint: `${teacher.name}@${teacher.version}:${entries.map((e) => e.sha256.slice(0, 12)).join('-')}`,
      models: {
        teacher: modelRef(teacher),
        ...(pair === undefined ? {} : { proxy_plus: modelRef(pair.plus), proxy_minus: modelRef(pair.minus) }),
      },
      ...(plan.models.antidistillation === undefined || pair === undefined
        ? {}
        : { antidistillation: { ...plan.models.antidistillation, proxy: pair.name } }),
    };
    this.mode = pair === undefined ? 'plain' : 'antidistillation';
  }

  /** Generates every sequence; `signal` stops decoding at the next token. */
  async run(callbacks: CompletionCallbacks, signal: AbortSignal): Promise<Generated[]> {
    const labels = { model: this.plan.models.teacher.name, mode: this.mode };
    const observer = observeRun(this.plan, labels, this.counters);
    try {
      return await runCompletion(
        this.plan,
        (entries) => this.models.openDecoders(entries),
        {
          onStart: observer.onStart,
          onToken: observer.onToken,
          ...(callbacks.onText === undefined ? {} : { onText: callbacks.onText }),
          onDone: (index, result) => {
            observer.onDone(index);
            callbacks.onDone?.(index, result);
          },
        },
        signal,
      );
    } finally {
      observer.end();
    }
  }

  /** The whole text completion, once every sequence is done. */
  reply(results: Generated[]): Reply {
    return {
      ...this.head,
      object: 'text_completion',
      choices: results.map((result, index) => ({
        text: result.text,
        index,
        logprobs: result.logprobs ?? null,
        finish_reason: result.finishReason,
      })),
      usage: this.usage(results),
      ...this.extras,
    };
  }

  /** The whole chat completion, once every sequence is done. */
  chatReply(results: Generated[]): ChatReply {
    return {
      ...this.head,
      object: 'chat.completion',
      choices: results.map((result, index) => ({
        index,
        message: { role: 'assistant' as const, content: result.text, refusal: null },
        logprobs: chatLogprobs(result.logprobs),
        finish_reason: result.finishReason,
      })),
      usage: this.usage(results),
      ...this.extras,
    };
  }

  /** Triton's generate answer: the text, with the finish reason and the seed beside it. */
  generateReply(results: Generated[]): Static<typeof GenerateReply> {
    const [result] = results as [Generated];
    return {
      ...this.generatePiece(result.text),
      finish_reason: result.finishReason,
      seed: this.seed,
    };
  }

  /** A streamed piece of Triton's generate_stream: model, version and the piece of text. */
  generatePiece(text: string) {
    const { teacher } = this.plan.models;
    return { model_name: teacher.name, model_version: teacher.version, text_output: text };
  }

  /** The chunk that opens a chat choice (its role); text completions have none. */
  openingChunk(index: number) {
    if (this.format !== 'chat') return undefined;
    return this.chunk({
      index,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    });
  }

  /** A streamed piece of text of one choice (OpenAI's chunk: no model list, only the fingerprint). */
  textChunk(index: number, text: string) {
    return this.chunk(
      this.format === 'chat'
        ? { index, delta: { content: text }, logprobs: null, finish_reason: null }
        : { text, index, logprobs: null, finish_reason: null },
    );
  }

  /** The chunk that ends one choice, naming every model. */
  finishChunk(index: number, result: Generated) {
    const choice =
      this.format === 'chat'
        ? { index, delta: {}, logprobs: chatLogprobs(result.logprobs), finish_reason: result.finishReason }
        : { text: '', index, logprobs: result.logprobs ?? null, finish_reason: result.finishReason };
    return { ...this.streamHead(), choices: [choice], ...this.extras };
  }

  /** The last chunk when the client asked for usage (stream_options.include_usage). */
  usageChunk(results: Generated[]) {
    return { ...this.streamHead(), choices: [], usage: this.usage(results), ...this.extras };
  }

  /** Frees the generation slot; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private chunk(choice: object) {
    return {
      ...this.streamHead(),
      choices: [choice],
      system_fingerprint: this.extras.system_fingerprint,
      seed: this.seed,
    };
  }

  private streamHead() {
    return { ...this.head, object: this.format === 'chat' ? 'chat.completion.chunk' : 'text_completion' };
  }

  private usage(results: Generated[]) {
    const completionTokens = results.reduce((sum, result) => sum + result.completionTokens, 0);
    return {
      prompt_tokens: this.plan.promptTokens,
      completion_tokens: completionTokens,
      total_tokens: this.plan.promptTokens + completionTokens,
    };
  }
}

export class CompletionService {
  private active = 0;
  /** Completions waiting for a slot, first come first served; a freed slot passes to the first. */
  private readonly waiting: Array<Waiter<void>> = [];

  constructor(
    private readonly models: ModelRegistry,
    private readonly modelsDir: string,
    private readonly limits: GenerationLimits,
    private readonly counters: CompletionCounters,
  ) {}

  /**
   * Checks and plans a text completion (400/404/422) and waits for a generation slot: 503 when the wait
   * queue is full; `signal` (the client leaving, the deadline) takes a waiting request out of the queue.
   */
  start(body: Static<typeof CompletionBody>, signal?: AbortSignal): Promise<Completion> {
    const prompts = typeof body.prompt === 'string' ? 1 : body.prompt.length;
    if (prompts * body.n > MAX_SEQUENCES) {
      throw new InvalidInputError(`${prompts} prompts × n ${body.n} exceeds ${MAX_SEQUENCES} completions`, [
        { path: '/body/n', message: `prompts × n must be at most ${MAX_SEQUENCES}` },
      ]);
    }
    const { seed, ...rest } = body;
    return this.startPlanned(rest, seed, 'text', signal);
  }

  /** Checks and plans a chat completion (the last user message fills the model's chat template), as start. */
  startChat(body: Static<typeof ChatCompletionBody>, signal?: AbortSignal): Promise<Completion> {
    const {
      messages,
      logprobs,
      top_logprobs: top,
      max_completion_tokens: maxCompletion,
      seed,
      ...rest
    } = body;
    throwFieldErrors(chatConflicts(body));
    const prompt = this.chatPrompt(body.model, messages);
    const maxTokens = body.max_tokens ?? maxCompletion;
    return this.startPlanned(
      {
        ...rest,
        prompt,
        ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
        ...(logprobs === true ? { logprobs: top ?? 0 } : {}),
      },
      seed,
      'chat',
      signal,
      {
        prompt: () => `/body/messages/${messages.length - 1}/content`,
        ...(body.max_tokens === undefined ? { maxTokens: '/body/max_completion_tokens' } : {}),
      },
    );
  }

  /**
   * Checks and plans a response (the Responses API): text input is the user's message, message input is
   * read as a chat's; one output, as start.
   */
  startResponse(body: Static<typeof ResponseBody>, signal?: AbortSignal): Promise<Completion> {
    const { input, model, temperature, top_p, antidistillation, max_output_tokens: maxTokens } = body;
    const logprobs = body.include?.includes('message.output_text.logprobs')
      ? (body.top_logprobs ?? 0)
      : undefined;
    const messages: ChatMessage[] =
      typeof input === 'string'
        ? [{ role: 'user', content: input }]
        : input.map(({ role, content }) => ({
            role,
            content:
              typeof content === 'string' ? content : content.map(({ text }) => ({ type: 'text', text })),
          }));
    const messagePath: MessagePath =
      typeof input === 'string' ? () => '/body/input' : (index, field) => `/body/input/${index}/${field}`;
    const prompt = this.chatPrompt(model, messages, messagePath);
    return this.startPlanned(
      {
        prompt,
        temperature,
        top_p,
        n: 1,
        ...(model === undefined ? {} : { model }),
        ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
        ...(antidistillation === undefined ? {} : { antidistillation }),
        ...(logprobs === undefined ? {} : { logprobs }),
      },
      body.seed,
      'response',
      signal,
      { prompt: () => messagePath(messages.length - 1, 'content'), maxTokens: '/body/max_output_tokens' },
    );
  }

  /**
   * Checks and plans Triton's generate request for model `name` (its `version`, when the path names one, must
   * be the one served): `text_input` is the prompt, `parameters` the sampler's settings; one output, as start.
   */
  startGenerate(
    name: string,
    version: string | undefined,
    body: Static<typeof GenerateBody>,
    signal?: AbortSignal,
  ): Promise<Completion> {
    const served = this.lookup(name);
    languageModelOf(served, '/params/name');
    if (version !== undefined && version !== served.version) {
      this.models.get(name, version); // 404 for a version that does not exist
      throw new NotFoundError(
        `generation serves version ${served.version} of model '${name}', not ${version}`,
      );
    }
    const { seed, antidistillation_lambda: lambda, stream: _stream, ...sampling } = body.parameters ?? {};
    return this.startPlanned(
      {
        ...sampling,
        model: name,
        prompt: body.text_input,
        n: 1,
        temperature: sampling.temperature ?? 1,
        top_p: sampling.top_p ?? 1,
        ...(lambda === undefined ? {} : { antidistillation: { lambda } }),
      },
      seed,
      'generate',
      signal,
      { prompt: () => '/body/text_input' },
      '/body/parameters',
    );
  }

  /** The prompt of a chat's messages in the model's chat template (400/404/422 naming the field). */
  private chatPrompt(model: string | undefined, messages: ChatMessage[], messagePath?: MessagePath): string {
    const name = model ?? DEFAULT_TEACHER;
    const spec = languageModelOf(this.lookup(name), '/body/model');
    return chatPrompt(vocabularyOf(this.modelsDir, spec).spec, name, messages, '/body', messagePath);
  }

  private lookup = (name: string, version?: string) => this.models.get(name, version).entry;

  /**
   * `paths`: where the prompt's text and the token limit came from (a chat message…), for errors in them;
   * `base`: where the other sampling fields are.
   */
  private async startPlanned(
    input: Omit<CompletionInput, 'seed'>,
    requestedSeed: number | undefined,
    format: Format,
    signal: AbortSignal | undefined,
    paths?: InputPaths,
    base = '/body',
  ): Promise<Completion> {
    const seed = seedOrRandom(requestedSeed);
    const plan = planCompletion(this.lookup, this.modelsDir, { ...input, seed }, base, paths);
    const { teacher, pair } = plan.models;
    // Refuses models that are not ready before anything is sent.
    this.models.checkDecodable(pair === undefined ? [teacher] : [teacher, pair.plus, pair.minus]);
    await this.acquire(signal);
    return new Completion(plan, seed, format, this.models, this.counters, () => this.release());
  }

  /** A generation slot: at once when one is free, else after those waiting before. */
  private async acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.active < this.limits.concurrency) {
      this.active++;
      this.counters.active(1);
      return;
    }
    if (this.waiting.length >= this.limits.queueLimit) {
      throw new OverloadedError(
        `${this.active} completions are generating and ${this.waiting.length} waiting; try again shortly`,
      );
    }
    this.counters.queued(1);
    try {
      await joinQueue<void, Waiter<void>>(this.waiting, signal, (settle) => settle);
    } finally {
      this.counters.queued(-1);
    }
  }

  /** A finished completion's slot passes to the first waiting one, or is freed. */
  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.resolve();
      return;
    }
    this.active--;
    this.counters.active(-1);
  }
}

/**
 * Chat fields that contradict each other, refused rather than one of them dropped without a word (as
 * OpenAI's reference says of top_logprobs, and vLLM answers): alternatives without `logprobs: true`, and
 * two different limits under max_tokens and its newer name.
 */
function chatConflicts(body: Static<typeof ChatCompletionBody>): FieldError[] {
  const errors: FieldError[] = [];
  if ((body.top_logprobs ?? 0) > 0 && body.logprobs !== true) {
    errors.push({ path: '/body/top_logprobs', message: 'needs logprobs: true' });
  }
  const { max_tokens: maxTokens, max_completion_tokens: maxCompletion } = body;
  if (maxTokens !== undefined && maxCompletion !== undefined && maxTokens !== maxCompletion) {
    errors.push({
      path: '/body/max_completion_tokens',
      message: `is ${maxCompletion} where max_tokens (the same limit, its older name) is ${maxTokens}: give one`,
    });
  }
  return errors;
}
