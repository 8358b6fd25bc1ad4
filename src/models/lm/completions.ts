// A completion request as sequences to decode: one per prompt and choice (index = prompt · n + choice, as
// OpenAI orders them), each with its own seed drawn from the request's, run a few at a time. The
// antidistillation.traces job runs the same plan, so its traces equal the route's for the same seed.
import { InvalidInputError } from '../../errors.js';
import { deriveSeed } from '../../lib/random.js';
import type { ManifestEntry, ModelLookup } from '../../schemas/manifest.js';
import type { Decoder } from './decoder.js';
import {
  type Generated,
  generateSequence,
  type SamplingOptions,
  type SequenceDecoders,
  type TokenLogprobs,
} from './generate.js';
import {
  type AntidistillationInput,
  encodePrompt,
  type ResolvedModels,
  resolveModels,
  tokensToGenerate,
} from './language-models.js';
import { echoPrompt, withPrompt } from './prompt-echo.js';
import type { Vocabulary } from './vocabulary.js';

/** Sequences of one request decoded at once; the rest wait their turn. */
const CONCURRENT_SEQUENCES = 4;

export interface CompletionInput {
  model?: string;
  prompt: string | string[];
  max_tokens?: number;
  temperature: number;
  top_p: number;
  n: number;
  stop?: string | string[];
  logprobs?: number;
  seed: number;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  /** The prompt in front of each choice's text (and of its log-probabilities). */
  echo?: boolean;
  antidistillation?: AntidistillationInput;
}

export interface PlannedSequence {
  index: number;
  promptIds: number[];
  maxTokens: number;
  seed: number;
}

export interface CompletionPlan {
  models: ResolvedModels;
  sampling: SamplingOptions;
  sequences: PlannedSequence[];
  stop: string[];
  logprobs?: number;
  echo: boolean;
  /** Prompt tokens (<bos> included), each prompt counted once whatever n is. */
  promptTokens: number;
}

/** Opens one decoder per model entry (teacher first); the caller closes them. */
export type OpenDecoders = (entries: ManifestEntry[]) => Decoder[] | Promise<Decoder[]>;

/** Where a request's prompts and token limit came from, when not `${base}/prompt` and `${base}/max_tokens`. */
export interface InputPaths {
  /** Prompt i: a chat message's content, a response's input, a job's prompts. */
  prompt?: (index: number) => string;
  /** max_completion_tokens (chat), max_output_tokens (responses). */
  maxTokens?: string;
}

/** `base` prefixes the field paths of errors (/body, /body/params); `paths` names fields elsewhere. */
export function planCompletion(
  lookup: ModelLookup,
  modelsDir: string,
  input: CompletionInput,
  base = '/body',
  {
    prompt: promptPath = (i) => (typeof input.prompt === 'string' ? `${base}/prompt` : `${base}/prompt/${i}`),
    maxTokens: maxTokensPath = `${base}/max_tokens`,
  }: InputPaths = {},
): CompletionPlan {
  const models = resolveModels(lookup, modelsDir, input, base);
  const prompts = typeof input.prompt === 'string' ? [input.prompt] : input.prompt;
  const sequences: PlannedSequence[] = [];
  let promptTokens = 0;
  prompts.forEach((prompt, p) => {
    const promptIds = encodePrompt(models.vocabulary, prompt, promptPath(p));
    const maxTokens = tokensToGenerate(models.vocabulary, promptIds, input.max_tokens, maxTokensPath);
    promptTokens += promptIds.length;
    for (let choice = 0; choice < input.n; choice++) {
      const index = p * input.n + choice;
      sequences.push({ index, promptIds, maxTokens, seed: deriveSeed(input.seed, index) });
    }
  });
  const stop = input.stop === undefined ? [] : typeof input.stop === 'string' ? [input.stop] : input.stop;
  return {
    models,
    sampling: {
      temperature: input.temperature,
      topP: input.top_p,
      ...(input.logit_bias === undefined || input.logit_bias === null
        ? {}
        : { logitBias: checkedBias(models.vocabulary, input.logit_bias, `${base}/logit_bias`) }),
      ...(input.frequency_penalty === undefined || input.frequency_penalty === null
        ? {}
        : { frequencyPenalty: input.frequency_penalty }),
      ...(input.presence_penalty === undefined || input.presence_penalty === null
        ? {}
        : { presencePenalty: input.presence_penalty }),
      ...(models.antidistillation === undefined ? {} : { antidistillation: models.antidistillation }),
    },
    sequences,
    stop,
    ...(input.logprobs === undefined ? {} : { logprobs: input.logprobs }),
    echo: input.echo ?? false,
    promptTokens,
  };
}

/** logit_bias as given, once every token id in it is one of the vocabulary's (a 400 naming it otherwise). */
function checkedBias(
  vocabulary: Vocabulary,
  bias: Record<string, number>,
  path: string,
): Record<string, number> {
  for (const key of Object.keys(bias)) {
    if (Number(key) >= vocabulary.size) {
      throw new InvalidInputError(`token id ${key} is not in the model's vocabulary`, [
        { path: `${path}/${key}`, message: `token ids run from 0 to ${vocabulary.size - 1}` },
      ]);
    }
  }
  return bias;
}

/**
 * Decodes every sequence of the plan; `onStart` hears when a sequence gets its decoders, `onToken` each
 * token it samples, `onText` its text as it becomes final and `onDone` its result. Stops at the first
 * error or when `signal` aborts (every decoder is closed).
 */
export async function runCompletion(
  plan: CompletionPlan,
  open: OpenDecoders,
  callbacks: {
    onStart?: (index: number) => void;
    onToken?: (index: number) => void;
    onText?: (index: number, piece: string, logprobs?: TokenLogprobs) => void;
    onDone?: (index: number, result: Generated) => void;
  },
  signal: AbortSignal,
): Promise<Generated[]> {
  const results: Generated[] = new Array(plan.sequences.length);
  // The first failure stops the other sequences too.
  const failed = new AbortController();
  const stop = AbortSignal.any([signal, failed.signal]);
  let next = 0;
  const worker = async () => {
    while (next < plan.sequences.length) {
      stop.throwIfAborted();
      const sequence = plan.sequences[next++] as PlannedSequence;
      const decoders = await openFor(plan, open);
      callbacks.onStart?.(sequence.index);
      try {
        const prompt = plan.echo
          ? await echoPrompt(
              plan.models.vocabulary,
              () => openFor(plan, open),
              sequence.promptIds,
              plan.sampling,
              plan.logprobs,
              sequence.seed,
              stop,
            )
          : undefined;
        if (prompt !== undefined && prompt.text !== '') callbacks.onText?.(sequence.index, prompt.text);
        const generated = await generateSequence(
          plan.models.vocabulary,
          decoders,
          {
            promptIds: sequence.promptIds,
            maxTokens: sequence.maxTokens,
            sampling: plan.sampling,
            stop: plan.stop,
            ...(plan.logprobs === undefined ? {} : { logprobs: plan.logprobs }),
            seed: sequence.seed,
          },
          (piece, logprobs) => callbacks.onText?.(sequence.index, piece, logprobs),
          stop,
          () => callbacks.onToken?.(sequence.index),
        );
        const result = prompt === undefined ? generated : withPrompt(prompt, generated);
        results[sequence.index] = result;
        callbacks.onDone?.(sequence.index, result);
      } catch (error) {
        failed.abort(error);
        throw error;
      } finally {
        decoders.teacher.close();
        decoders.plus?.close();
        decoders.minus?.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_SEQUENCES, plan.sequences.length) }, worker));
  return results;
}

async function openFor(plan: CompletionPlan, open: OpenDecoders): Promise<SequenceDecoders> {
  const { teacher, pair } = plan.models;
  if (pair === undefined) {
    const [decoder] = await open([teacher]);
    return { teacher: decoder as Decoder };
  }
  const [decoder, plus, minus] = await open([teacher, pair.plus, pair.minus]);
  return { teacher: decoder as Decoder, plus: plus as Decoder, minus: minus as Decoder };
}
