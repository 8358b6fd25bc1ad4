// Chat messages → the prompt of a language model that was trained on prompts, not conversations: the model's
// chat template (its vocabulary spec's `chat_template`, e.g. the arithmetic teacher's "Q:{content}=") filled
// with the text of the last message, which must be the user's. The teacher keeps no conversation, so earlier
// turns and system or developer messages do not change its answer; they are accepted, as chat clients send
// them. Text already in the prompt format ("Q:4817+2956=") is taken as it is.
import { InvalidInputError, UnprocessableError } from '../../errors.js';
import type { VocabularySpec } from './vocabulary.js';

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | Array<{ type: 'text'; text: string }>;
}

const textOf = (content: ChatMessage['content']) =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

/** Where message `index`'s `field` came from in the request, for errors: `/body/messages/3/content`. */
export type MessagePath = (index: number, field: 'role' | 'content') => string;

/**
 * The prompt for `messages`; 400 naming the field when the last message is not a user's, 422 without a
 * template. `path` is the request's (`/body`); `messagePath` where each message came from, by default
 * `${path}/messages/<index>`.
 */
export function chatPrompt(
  spec: VocabularySpec,
  model: string,
  messages: ChatMessage[],
  path: string,
  messagePath: MessagePath = (index, field) => `${path}/messages/${index}/${field}`,
): string {
  const template = spec.chat_template;
  if (template === undefined) {
    throw new UnprocessableError(`model ${model} has no chat template; use POST /v1/completions`, [
      { path: `${path}/model`, message: 'this model takes completions, not chat' },
    ]);
  }
  const last = messages.length - 1;
  const message = messages[last];
  if (message?.role !== 'user') {
    throw new InvalidInputError('the last message must be the user’s: it is what the model answers', [
      { path: messagePath(last, 'role'), message: 'must be user' },
    ]);
  }
  const text = textOf(message.content).trim();
  const [before, after] = template.split('{content}') as [string, string];
  const content =
    text.startsWith(before) && text.endsWith(after) && text.length > before.length + after.length
      ? text.slice(before.length, text.length - after.length)
      : text;
  if (content === '') {
    throw new InvalidInputError('the user message is empty', [
      { path: messagePath(last, 'content'), message: 'must hold the problem, e.g. 4817+2956' },
    ]);
  }
  return `${before}${content}${after}`;
}
