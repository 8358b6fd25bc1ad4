// One sequence, token by token: decoders → logits processors → sampler → stopping criteria → streamer.
// Each step runs the teacher and, for antidistillation, the two perturbed proxies concurrently, each on
// its own key/value cache. Same request, seed and models → the same tokens. A sampled sequence also
// reports what its sampler cost in utility, the paper's measure: the KL divergence of each step's sampling
// distribution (before top-p) to the teacher's, summed over its tokens, and for antidistillation the KL of
// the tilted distribution to the tempered one, the tilt's own share.
import { Random } from '../../lib/random.js';
import type { Decoder } from './decoder.js';
import {
  antidistillationTilt,
  type LambdaSchedule,
  type LogitsProcessor,
  lambdaAt,
  logitBias,
  logSoftmax,
  repetitionPenalties,
  type StepLogits,
  suppress,
  temperature,
  topP,
} from './logits-processors.js';
import { categorical, greedy } from './sampler.js';
import { type FinishReason, StopSequenceText } from './stopping.js';
import type { Vocabulary } from './vocabulary.js';

/** The tilt's settings as resolved for a request (ε the proxy pair's). */
export interface AntidistillationSettings {
  lambda: number;
  epsilon: number;
  permute: boolean;
  lambda_schedule?: LambdaSchedule;
}

export interface SamplingOptions {
  /** 0: greedy decoding. */
  temperature: number;
  topP: number;
  /** Token id (decimal, as OpenAI's keys) → bias added before temperature (OpenAI's logit_bias). */
  logitBias?: Readonly<Record<string, number>>;
  /** OpenAI's repetition penalties (α_f, α_p); absent or 0: none. */
  frequencyPenalty?: number;
  presencePenalty?: number;
  antidistillation?: AntidistillationSettings;
}

export interface SequenceRequest {
  /** Prompt ids, <bos> first. */
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingOptions;
  stop: readonly string[];
  /** Top alternatives to report per token (0: only the chosen token's); undefined: no log-probabilities. */
  logprobs?: number;
  seed: number;
}

export interface SequenceDecoders {
  teacher: Decoder;
  plus?: Decoder;
  minus?: Decoder;
}

export interface TokenLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>> | null;
  text_offset: number[];
}

/** Sums over a sequence's tokens, in nats (sampling only; greedy decoding is the teacher's own choice). */
export interface SamplingCost {
  /** KL(sampling distribution before top-p ‖ teacher at temperature 1). */
  teacherKl: number;
  /** KL(tilted ‖ tempered teacher): the antidistillation tilt alone; absent without it. */
  tiltKl?: number;
}

export interface Generated {
  text: string;
  finishReason: FinishReason;
  /** Tokens sampled, <eos> included: what usage counts. */
  completionTokens: number;
  logprobs?: TokenLogprobs;
  cost?: SamplingCost;
}

/** KL(p ‖ q) of two log-distributions, over the entries p gives mass to. */
export function klOfLogs(p: Float64Array, q: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const logP = p[i] as number;
    if (logP === Number.NEGATIVE_INFINITY) continue;
    sum += Math.exp(logP) * (logP - (q[i] as number));
  }
  return sum;
}

export async function generateSequence(
  vocabulary: Vocabulary,
  decoders: SequenceDecoders,
  request: SequenceRequest,
  /** Text as it becomes final; `logprobs` (when asked for) holds every token's entry so far, by text offset. */
  onText: (piece: string, logprobs?: TokenLogprobs) => void,
  signal: AbortSignal,
  onToken?: () => void,
): Promise<Generated> {
  const random = new Random(request.seed);
  const { sampling } = request;
  // How often each token was sampled so far: what the repetition penalties read.
  const counts = new Uint32Array(vocabulary.size);
  const chain = processorChain(sampling, vocabulary.suppressed, counts);
  const sample = sampling.temperature === 0 ? greedy : categorical;
  const cost: SamplingCost | undefined =
    sampling.temperature === 0
      ? undefined
      : { teacherKl: 0, ...(chain.tilt === undefined ? {} : { tiltKl: 0 }) };
  const text = new StopSequenceText(request.stop);
  const logprobs = request.logprobs === undefined ? undefined : emptyLogprobs(request.logprobs);
  let fed: number[] = request.promptIds;
  let finishReason: FinishReason = 'length';
  let completionTokens = 0;
  while (completionTokens < request.maxTokens) {
    signal.throwIfAborted();
    const logits = await stepAll(decoders, fed);
    const position = completionTokens;
    const { scores, teacher, tempered } = shapedScores(chain, logits, random, position, {
      teacher: cost !== undefined,
      tempered: cost?.tiltKl !== undefined,
    });
    const distribution = logprobs === undefined && cost === undefined ? undefined : logSoftmax(scores);
    if (cost !== undefined && distribution !== undefined && teacher !== undefined) {
      cost.teacherKl += klOfLogs(distribution, teacher);
      if (tempered !== undefined) cost.tiltKl = (cost.tiltKl ?? 0) + klOfLogs(distribution, tempered);
    }
    chain.truncate?.(scores, logits, random, position);
    const token = sample(scores, random);
    counts[token] = (counts[token] as number) + 1;
    completionTokens++;
    onToken?.();
    if (token === vocabulary.eos) {
      finishReason = 'stop';
      break;
    }
    const piece = vocabulary.text(token);
    if (logprobs !== undefined && distribution !== undefined) {
      recordLogprobs(logprobs, vocabulary, distribution, token, text.value.length, request.logprobs ?? 0);
    }
    const { emit, stopped } = text.push(piece);
    if (emit.length > 0) onText(emit, logprobs);
    if (stopped) {
      finishReason = 'stop';
      break;
    }
    fed = [token];
  }
  const rest = text.flush();
  if (rest.length > 0) onText(rest, logprobs);
  return {
    text: text.value,
    finishReason,
    completionTokens,
    ...(logprobs === undefined ? {} : { logprobs: trimLogprobs(logprobs, text.value.length) }),
    ...(cost === undefined ? {} : { cost }),
  };
}

/**
 * Bias, penalties, temperature and the tilt shape the distribution that log-probabilities report; top-p
 * only truncates what is sampled. Greedy decoding takes the argmax of the teacher's distribution at
 * temperature 1 after bias and penalties, and reports that distribution. <pad> and <bos> are never sampled.
 */
export function processorChain(
  sampling: SamplingOptions,
  suppressed: readonly number[],
  counts: Uint32Array,
): {
  suppress: LogitsProcessor;
  bias?: LogitsProcessor;
  penalties?: LogitsProcessor;
  temperature?: LogitsProcessor;
  tilt?: LogitsProcessor;
  truncate?: LogitsProcessor;
} {
  const { logitBias: bias, frequencyPenalty: frequency = 0, presencePenalty: presence = 0 } = sampling;
  // Absent when they would add nothing, so a request without them samples as before, bit for bit.
  const adjustments = {
    suppress: suppress(suppressed),
    ...(bias === undefined || Object.keys(bias).length === 0
      ? {}
      : { bias: logitBias(new Map(Object.entries(bias).map(([id, value]) => [Number(id), value]))) }),
    ...(frequency === 0 && presence === 0
      ? {}
      : { penalties: repetitionPenalties(frequency, presence, counts) }),
  };
  if (sampling.temperature === 0) return adjustments;
  const ads = sampling.antidistillation;
  return {
    ...adjustments,
    temperature: temperature(sampling.temperature),
    // Whenever the proxy pair decodes, the tilt is applied, λ = 0 included (it then adds exactly 0).
    ...(ads === undefined
      ? {}
      : { tilt: antidistillationTilt(lambdaAt(ads.lambda, ads.lambda_schedule), ads.epsilon, ads.permute) }),
    truncate: topP(sampling.topP),
  };
}

/**
 * One step's scores through the chain up to top-p (suppress, bias, penalties, temperature, tilt): what the
 * sampling distribution is. `keep` also keeps the distribution after suppress (the teacher's at τ = 1) and
 * after temperature (before the tilt), which the sampling cost compares it with.
 */
export function shapedScores(
  chain: ReturnType<typeof processorChain>,
  logits: StepLogits,
  random: Random,
  position: number,
  keep: { teacher: boolean; tempered: boolean } = { teacher: false, tempered: false },
): { scores: Float64Array; teacher?: Float64Array; tempered?: Float64Array } {
  const scores = logSoftmax(logits.teacher);
  chain.suppress(scores, logits, random, position);
  const teacher = keep.teacher ? logSoftmax(scores) : undefined;
  chain.bias?.(scores, logits, random, position);
  chain.penalties?.(scores, logits, random, position);
  chain.temperature?.(scores, logits, random, position);
  const tempered = keep.tempered ? logSoftmax(scores) : undefined;
  chain.tilt?.(scores, logits, random, position);
  return {
    scores,
    ...(teacher === undefined ? {} : { teacher }),
    ...(tempered === undefined ? {} : { tempered }),
  };
}

export async function stepAll(decoders: SequenceDecoders, ids: number[]): Promise<StepLogits> {
  const [teacher, plus, minus] = await Promise.all([
    decoders.teacher.step(ids),
    decoders.plus?.step(ids),
    decoders.minus?.step(ids),
  ]);
  return { teacher, plus, minus };
}

export function emptyLogprobs(top: number): TokenLogprobs {
  return { tokens: [], token_logprobs: [], top_logprobs: top > 0 ? [] : null, text_offset: [] };
}

export function recordLogprobs(
  logprobs: TokenLogprobs,
  vocabulary: Vocabulary,
  distribution: Float64Array,
  token: number,
  offset: number,
  top: number,
): void {
  logprobs.tokens.push(vocabulary.text(token));
  logprobs.token_logprobs.push(distribution[token] as number);
  logprobs.text_offset.push(offset);
  if (top > 0) {
    const best = Array.from(distribution, (value, id) => ({ value, id }))
      .filter(({ id, value }) => vocabulary.text(id) !== '' && Number.isFinite(value))
      .sort((a, b) => b.value - a.value || a.id - b.id)
      .slice(0, top);
    logprobs.top_logprobs?.push(
      Object.fromEntries(best.map(({ id, value }) => [vocabulary.text(id), value])),
    );
  }
}

/** Drops the entries of tokens cut off with a stop sequence. */
function trimLogprobs(logprobs: TokenLogprobs, length: number): TokenLogprobs {
  const kept = logprobs.text_offset.filter((offset) => offset < length).length;
  return {
    tokens: logprobs.tokens.slice(0, kept),
    token_logprobs: logprobs.token_logprobs.slice(0, kept),
    top_logprobs: logprobs.top_logprobs?.slice(0, kept) ?? null,
    text_offset: logprobs.text_offset.slice(0, kept),
  };
}
