// Logits processors: each turns one step's scores (log-space, one per vocabulary entry) into the next,
// in place. The chain is teacher log-probabilities → OpenAI's logit bias and repetition penalties →
// temperature → antidistillation tilt → top-p, i.e.
//   p̃(x) ∝ exp( ℓ(x) / τ + λ Δ̂(x) ),   Δ̂(x) = [ z₊(x) − z₋(x) ] / 2ε
// (Savani et al. 2025, the paper's form of Eq. 6), then nucleus truncation. ℓ(x) = log p_T(x) + b(x) −
// c(x) α_f − [c(x) > 0] α_p is the teacher's log-probability after OpenAI's bias b and penalties (c(x): the
// times x was sampled so far), applied before temperature as vLLM's sampler applies them; all three are 0
// unless a request asks. z± are the logits of the proxy student at θ_P ± εg: logit differences equal
// log-probability differences up to a constant per position, which the softmax removes, so the raw logits
// give the finite difference exactly. The official code adds λ'Δ̂ to the raw teacher logits before dividing
// by τ: the same distribution with λ' = λτ. The paper keeps λ constant; a schedule over the completion's
// positions is ours, for the ablation in docs/antidistillation.md.
import type { Random } from '../../lib/random.js';

/** One step's raw logits from each decoder. */
export interface StepLogits {
  teacher: Float32Array;
  plus?: Float32Array;
  minus?: Float32Array;
}

/** `position`: the completion tokens sampled before this step (0 at the first). */
export type LogitsProcessor = (
  scores: Float64Array,
  logits: StepLogits,
  random: Random,
  position: number,
) => void;

/** log-softmax in float64. */
export function logSoftmax(values: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i] as number);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp((values[i] as number) - max);
  const shift = max + Math.log(sum);
  // A loop, not Float64Array.from(values, map): V8 runs typed-array `from` with a map function through
  // its generic iterator path, which made this the costliest line of a decoding step.
  const result = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) result[i] = (values[i] as number) - shift;
  return result;
}

/** Tokens that are never text nor the end (<pad>, <bos>) get −∞: training never asked for them. */
export function suppress(ids: readonly number[]): LogitsProcessor {
  return (scores) => {
    for (const id of ids) scores[id] = Number.NEGATIVE_INFINITY;
  };
}

/** Adds each biased token's bias (OpenAI's logit_bias: −100 bans a token, 100 all but forces it). */
export function logitBias(bias: ReadonlyMap<number, number>): LogitsProcessor {
  return (scores) => {
    for (const [id, value] of bias) scores[id] = (scores[id] as number) + value;
  };
}

/**
 * OpenAI's frequency and presence penalties: subtracts c(x)·α_f + [c(x) > 0]·α_p, where c(x) counts the
 * times token x was sampled in this completion so far (`counts`, which the caller keeps).
 */
export function repetitionPenalties(
  frequency: number,
  presence: number,
  counts: Uint32Array,
): LogitsProcessor {
  return (scores) => {
    for (let i = 0; i < scores.length; i++) {
      const count = counts[i] as number;
      if (count > 0) scores[i] = (scores[i] as number) - count * frequency - presence;
    }
  };
}

export function temperature(tau: number): LogitsProcessor {
  return (scores) => {
    for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] as number) / tau;
  };
}

/** λ moving linearly from its first value to `end` over the first `tokens` completion tokens. */
export interface LambdaSchedule {
  end: number;
  tokens: number;
}

/** λ at each completion position: constant without a schedule. */
export function lambdaAt(lambda: number, schedule?: LambdaSchedule): (position: number) => number {
  if (schedule === undefined) return () => lambda;
  const { end, tokens } = schedule;
  return (position) => lambda + (end - lambda) * Math.min(position / tokens, 1);
}

/**
 * Adds λ·Δ̂, λ given per completion position. With `permute` (the paper's control), Δ̂ is shuffled across
 * the vocabulary and each entry's sign flipped at random before it is added: the same magnitudes, no
 * information about the proxy.
 */
export function antidistillationTilt(
  lambda: (position: number) => number,
  epsilon: number,
  permute: boolean,
): LogitsProcessor {
  return (scores, logits, random, position) => {
    const { plus, minus } = logits;
    if (plus === undefined || minus === undefined) throw new Error('antidistillation needs the proxy pair');
    const delta = new Float64Array(scores.length);
    for (let i = 0; i < delta.length; i++)
      delta[i] = ((plus[i] as number) - (minus[i] as number)) / (2 * epsilon);
    if (permute) permuteWithSigns(delta, random);
    const weight = lambda(position);
    for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] as number) + weight * (delta[i] as number);
  };
}

/** Fisher–Yates shuffle and a random sign per entry, from the request's generator. */
export function permuteWithSigns(values: Float64Array, random: Random): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    const swap = values[i] as number;
    values[i] = values[j] as number;
    values[j] = swap;
  }
  for (let i = 0; i < values.length; i++) if (random.nextInt(2) === 1) values[i] = -(values[i] as number);
}

/**
 * Keeps the smallest set of most likely tokens whose probability reaches `p` (ties broken by lower id) and
 * sets the rest to −∞. p = 1 keeps everything.
 */
export function topP(p: number): LogitsProcessor {
  return (scores) => {
    if (p >= 1) return;
    const probabilities = logSoftmax(scores).map(Math.exp);
    const order: number[] = [];
    for (let i = 0; i < scores.length; i++) order.push(i);
    order.sort((a, b) => (probabilities[b] as number) - (probabilities[a] as number) || a - b);
    let cumulative = 0;
    let kept = 0;
    while (kept < order.length && cumulative < p)
      cumulative += probabilities[order[kept++] as number] as number;
    for (const id of order.slice(kept)) scores[id] = Number.NEGATIVE_INFINITY;
  };
}
