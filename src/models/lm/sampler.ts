// Picks the next token from processed scores: greedy (argmax, lowest id on ties) or a categorical draw from
// softmax(scores) with the request's seeded generator (inverse CDF over the vocabulary in id order).
import type { Random } from '../../lib/random.js';

export type Sampler = (scores: Float64Array, random: Random) => number;

export const greedy: Sampler = (scores) => {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
  return best;
};

export const categorical: Sampler = (scores, random) => {
  const max = scores[greedy(scores, random)] as number;
  const weights = new Float64Array(scores.length);
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    weights[i] = Math.exp((scores[i] as number) - max);
    total += weights[i] as number;
  }
  let target = random.nextUniform() * total;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if ((weights[i] as number) === 0) continue;
    last = i;
    target -= weights[i] as number;
    if (target <= 0) return i;
  }
  return last; // rounding left a sliver of mass: the last token with any weight
};
