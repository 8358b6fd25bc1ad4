// echo on /v1/completions: a choice's text starts with its prompt, and with logprobs the prompt's own tokens
// come first in them — what lm-evaluation-harness and other scorers ask an OpenAI-compatible server for
// (echo, logprobs, max_tokens 0: the log-likelihood of a text). Each prompt token is reported under the
// distribution a completion token in its place would be drawn from — logit bias, temperature and the
// antidistillation tilt applied (at λ's first value), as for sampled tokens — so antidistillation never
// returns the teacher's own log-probabilities here either. The decoders are fed one token at a time (they
// return the last position's logits), on their own cache slots: the completion is decoded as without echo.
import { Random } from '../../lib/random.js';
import {
  emptyLogprobs,
  type Generated,
  processorChain,
  recordLogprobs,
  type SamplingOptions,
  type SequenceDecoders,
  shapedScores,
  stepAll,
  type TokenLogprobs,
} from './generate.js';
import { logSoftmax } from './logits-processors.js';
import type { Vocabulary } from './vocabulary.js';

export interface EchoedPrompt {
  text: string;
  logprobs?: TokenLogprobs;
}

/** The prompt's text (<bos> dropped) and, when `top` is given, its tokens' log-probabilities. */
export async function echoPrompt(
  vocabulary: Vocabulary,
  open: () => Promise<SequenceDecoders>,
  promptIds: readonly number[],
  sampling: SamplingOptions,
  top: number | undefined,
  seed: number,
  signal: AbortSignal,
): Promise<EchoedPrompt> {
  const text = promptIds
    .slice(1)
    .map((id) => vocabulary.text(id))
    .join('');
  if (top === undefined || promptIds.length < 2) {
    return top === undefined ? { text } : { text, logprobs: emptyLogprobs(top) };
  }
  const decoders = await open();
  try {
    // Its own generator: the permutation control draws from it, and the completion's stays untouched.
    const random = new Random(seed);
    const chain = processorChain(sampling, vocabulary.suppressed, new Uint32Array(vocabulary.size));
    const logprobs = emptyLogprobs(top);
    let offset = 0;
    for (let i = 1; i < promptIds.length; i++) {
      signal.throwIfAborted();
      const logits = await stepAll(decoders, [promptIds[i - 1] as number]);
      // Position 0: λ at its first value; no token sampled yet, so the penalties take nothing.
      const { scores } = shapedScores(chain, logits, random, 0);
      const token = promptIds[i] as number;
      recordLogprobs(logprobs, vocabulary, logSoftmax(scores), token, offset, top);
      offset += vocabulary.text(token).length;
    }
    return { text, logprobs };
  } finally {
    decoders.teacher.close();
    decoders.plus?.close();
    decoders.minus?.close();
  }
}

/** The completion with its prompt in front: text, and log-probabilities with offsets from the prompt's start. */
export function withPrompt(prompt: EchoedPrompt, generated: Generated): Generated {
  const { logprobs: head } = prompt;
  const tail = generated.logprobs;
  return {
    ...generated,
    text: prompt.text + generated.text,
    ...(head === undefined || tail === undefined
      ? {}
      : {
          logprobs: {
            tokens: [...head.tokens, ...tail.tokens],
            token_logprobs: [...head.token_logprobs, ...tail.token_logprobs],
            top_logprobs:
              head.top_logprobs === null || tail.top_logprobs === null
                ? null
                : [...head.top_logprobs, ...tail.top_logprobs],
            text_offset: [
              ...head.text_offset,
              ...tail.text_offset.map((offset) => offset + prompt.text.length),
            ],
          },
        }),
  };
}
