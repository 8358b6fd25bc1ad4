// A completion answered in the shapes of OpenAI's Responses API: the Response object (in progress, then
// completed, or incomplete when max_output_tokens or the model's context ended the text) with its one output
// message, and the events of its stream in the order OpenAI sends them and its SDKs' accumulators expect.
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { OutputMessage, ResponseBody, ResponseObject } from '../../schemas/responses.js';
import { type Completion, chatLogprobs } from './completion-service.js';
import type { Generated, TokenLogprobs } from './generate.js';

type Response = Static<typeof ResponseObject>;
type Message = Static<typeof OutputMessage>;
type Status = Message['status'];

/** The settings a Response echoes back, from its request. */
type Echoed = Pick<
  Static<typeof ResponseBody>,
  'instructions' | 'max_output_tokens' | 'temperature' | 'top_p' | 'user' | 'metadata'
>;

export class ResponseShapes {
  /** The output message's id, the same in every event and in the final object. */
  private readonly messageId = `msg_${randomUUID().replaceAll('-', '')}`;
  private sequence = 0;
  /** Characters of text the stream has sent. */
  private streamed = 0;

  constructor(
    private readonly completion: Completion,
    private readonly echoed: Echoed,
  ) {}

  /** The Response: in progress while `result` is undefined, then completed or incomplete. */
  response(result?: Generated): Response {
    const { head, extras, plan } = this.completion;
    const status = result === undefined ? 'in_progress' : statusOf(result);
    return {
      id: head.id,
      object: 'response',
      created_at: head.created,
      status,
      error: null,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: this.echoed.instructions ?? null,
      max_output_tokens: this.echoed.max_output_tokens ?? null,
      model: head.model,
      output: result === undefined ? [] : [this.message(statusOf(result), result)],
      parallel_tool_calls: false,
      previous_response_id: null,
      store: false,
      temperature: this.echoed.temperature,
      top_p: this.echoed.top_p,
      tool_choice: 'none',
      tools: [],
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      usage:
        result === undefined
          ? null
          : {
              input_tokens: plan.promptTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: result.completionTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: plan.promptTokens + result.completionTokens,
            },
      user: this.echoed.user ?? null,
      metadata: this.echoed.metadata ?? {},
      ...extras,
    };
  }

  /** The events before the first text: the response created and in progress, its message and text part opened. */
  opening(): object[] {
    const inProgress = this.response();
    return [
      this.event('response.created', { response: inProgress }),
      this.event('response.in_progress', { response: inProgress }),
      this.event('response.output_item.added', {
        output_index: 0,
        item: { ...this.message('in_progress'), content: [] },
      }),
      this.event('response.content_part.added', { ...this.where(), part: textPart('', []) }),
    ];
  }

  /**
   * One piece of text, with its tokens' log-probabilities when the request includes them: the entries of
   * `logprobs` (every token's so far) from the text offset the stream has reached.
   */
  delta(text: string, logprobs?: TokenLogprobs): object {
    const start = this.streamed;
    this.streamed += text.length;
    const entries = logprobs === undefined ? [] : outputLogprobs(within(logprobs, start, this.streamed));
    return this.event('response.output_text.delta', { ...this.where(), delta: text, logprobs: entries });
  }

  /** The events that close the text, the message and the response. */
  closing(result: Generated): object[] {
    const response = this.response(result);
    const logprobs = outputLogprobs(result.logprobs);
    return [
      this.event('response.output_text.done', { ...this.where(), text: result.text, logprobs }),
      this.event('response.content_part.done', { ...this.where(), part: textPart(result.text, logprobs) }),
      this.event('response.output_item.done', {
        output_index: 0,
        item: this.message(statusOf(result), result),
      }),
      this.event(response.status === 'completed' ? 'response.completed' : 'response.incomplete', {
        response,
      }),
    ];
  }

  /** The event that ends a stream whose generation failed. */
  failure(message: string, code: string): object {
    return this.event('error', { code, message, param: null });
  }

  private message(status: Status, result?: Generated): Message {
    const part = textPart(result?.text ?? '', outputLogprobs(result?.logprobs));
    return { type: 'message', id: this.messageId, status, role: 'assistant', content: [part] };
  }

  private where() {
    return { item_id: this.messageId, output_index: 0, content_index: 0 };
  }

  private event(type: string, fields: object): object {
    return { type, sequence_number: this.sequence++, ...fields };
  }
}

const statusOf = (result: Generated): 'completed' | 'incomplete' =>
  result.finishReason === 'length' ? 'incomplete' : 'completed';

const textPart = (text: string, logprobs: unknown[]) => ({
  type: 'output_text' as const,
  text,
  annotations: [],
  logprobs,
});

/** The Responses API's logprobs of output text: the chat completions' entries (none when not asked for). */
const outputLogprobs = (logprobs: TokenLogprobs | undefined) => chatLogprobs(logprobs)?.content ?? [];

/** The entries of the tokens whose text starts in [start, end). */
function within(logprobs: TokenLogprobs, start: number, end: number): TokenLogprobs {
  const first = logprobs.text_offset.findIndex((offset) => offset >= start);
  const from = first < 0 ? logprobs.text_offset.length : first;
  let to = from;
  while (to < logprobs.text_offset.length && (logprobs.text_offset[to] as number) < end) to++;
  return {
    tokens: logprobs.tokens.slice(from, to),
    token_logprobs: logprobs.token_logprobs.slice(from, to),
    top_logprobs: logprobs.top_logprobs?.slice(from, to) ?? null,
    text_offset: logprobs.text_offset.slice(from, to),
  };
}
