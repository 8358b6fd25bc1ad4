// Free-energy estimators from forward and reverse log path weights A_F, A_R (FEAT, arXiv 2504.11516; the
// official jiajunhe98/FEAT training.py), all reported as ΔF = −log(Z_b/Z_a):
//   forward escorted Jarzynski  ΔF = −log mean e^{A_F}        reverse  ΔF = log mean e^{A_R}
//   BAR / controlled Crooks     root L of Σ_F σ(A_F − L − m) = Σ_R σ(A_R + L + m), m = log(N_F/N_R), ΔF = −L
//   bounds                      −⟨W_R⟩ = ⟨A_R⟩ ≤ ΔF ≤ ⟨W_F⟩ = −⟨A_F⟩
// BAR is solved by bracketing and the Illinois method (the sum is monotone in L) instead of the repo's fixed-point
// iteration; the root is the same. Bootstrap: resample A_F and A_R independently with replacement,
// percentile 95 % intervals. ESS = (Σw)²/Σw² with w = e^{A}.
import type { Random } from '../../lib/random.js';

export function logSumExp(values: ArrayLike<number>): number {
  let largest = -Infinity;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, values[i] as number);
  if (!Number.isFinite(largest)) return largest;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp((values[i] as number) - largest);
  return largest + Math.log(sum);
}

export function logMeanExp(values: ArrayLike<number>): number {
  return logSumExp(values) - Math.log(values.length);
}

/** logMeanExp of every prefix: entry n − 1 is logMeanExp of the first n values, in one pass. */
export function prefixLogMeanExp(values: ArrayLike<number>): Float64Array {
  const prefixes = new Float64Array(values.length);
  let largest = -Infinity;
  let scaled = 0; // Σ e^{value − largest}
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value > largest) {
      scaled = scaled * Math.exp(largest - value) + 1;
      largest = value;
    } else if (value > -Infinity) {
      scaled += Math.exp(value - largest);
    }
    prefixes[i] = largest + Math.log(scaled) - Math.log(i + 1);
  }
  return prefixes;
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** log σ(z) = −log(1 + e^{−z}), stable for both signs. */
function logSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}

function barBalance(
  forward: Float64Array,
  reverse: Float64Array,
  logRatio: number,
  scratch: Float64Array,
): number {
  const m = Math.log(forward.length / reverse.length);
  for (let i = 0; i < forward.length; i++) scratch[i] = logSigmoid((forward[i] as number) - logRatio - m);
  const left = logSumExp(scratch.subarray(0, forward.length));
  for (let i = 0; i < reverse.length; i++) scratch[i] = logSigmoid((reverse[i] as number) + logRatio + m);
  return left - logSumExp(scratch.subarray(0, reverse.length));
}

/** The Bennett acceptance-ratio estimate of log(Z_b/Z_a). */
export function barLogRatio(forward: Float64Array, reverse: Float64Array): number {
  const scratch = new Float64Array(Math.max(forward.length, reverse.length));
  const balance = (L: number) => barBalance(forward, reverse, L, scratch);
  const guess = (logMeanExp(forward) - logMeanExp(reverse)) / 2;
  let low = Number.isFinite(guess) ? guess : 0;
  let high = low;
  let width = 1;
  while (balance(low) < 0 && width < 1e12) {
    low -= width;
    width *= 2;
  }
  width = 1;
  while (balance(high) > 0 && width < 1e12) {
    high += width;
    width *= 2;
  }
  // Illinois (regula falsi with halving of the stale end's value): a few evaluations instead of ~50 bisections.
  let fLow = balance(low);
  let fHigh = balance(high);
  let side = 0;
  let root = (low + high) / 2;
  for (let i = 0; i < 200 && fLow !== 0 && fHigh !== 0; i++) {
    root = high - (fHigh * (high - low)) / (fHigh - fLow);
    if (!(root > low && root < high)) root = (low + high) / 2;
    const value = balance(root);
    if (Math.abs(value) < 1e-13 || high - low < 1e-12 * Math.max(1, Math.abs(root))) break;
    if (value > 0) {
      low = root;
      fLow = value;
      if (side === -1) fHigh /= 2;
      side = -1;
    } else {
      high = root;
      fHigh = value;
      if (side === 1) fLow /= 2;
      side = 1;
    }
  }
  if (fLow === 0) return low;
  if (fHigh === 0) return high;
  return root;
}

export const ESTIMATORS = ['forward', 'reverse', 'bar', 'bound_lower', 'bound_upper'] as const;
export type EstimatorName = (typeof ESTIMATORS)[number];

/** Every estimator's ΔF from one set of weights. */
export function pointEstimates(forward: Float64Array, reverse: Float64Array): Record<EstimatorName, number> {
  return {
    forward: -logMeanExp(forward),
    reverse: logMeanExp(reverse),
    bar: -barLogRatio(forward, reverse),
    bound_lower: mean(reverse),
    bound_upper: -mean(forward),
  };
}

/** (Σw)²/Σw² for w = e^{A}. */
export function effectiveSampleSize(logWeights: Float64Array): number {
  const doubled = logWeights.map((value) => 2 * value);
  return Math.exp(2 * logSumExp(logWeights) - logSumExp(doubled));
}

export interface Estimate {
  delta_f: number;
  /** 95 % percentile bootstrap interval. */
  ci: [number, number];
  /** Standard deviation of the bootstrap replicates. */
  std_error: number;
}

function quantile(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const fraction = position - below;
  return (sorted[below] as number) * (1 - fraction) + (sorted[above] as number) * fraction;
}

/** Point estimates with bootstrap CIs; `onResample` runs after each resample (cancellation). */
export async function bootstrapEstimates(
  forward: Float64Array,
  reverse: Float64Array,
  resamples: number,
  random: Random,
  onResample: (index: number) => Promise<void> = async () => {},
): Promise<Record<EstimatorName, Estimate>> {
  const point = pointEstimates(forward, reverse);
  const replicates = Object.fromEntries(
    ESTIMATORS.map((name) => [name, new Float64Array(resamples)]),
  ) as Record<EstimatorName, Float64Array>;
  const f = new Float64Array(forward.length);
  const r = new Float64Array(reverse.length);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < f.length; i++) f[i] = forward[random.nextInt(forward.length)] as number;
    for (let i = 0; i < r.length; i++) r[i] = reverse[random.nextInt(reverse.length)] as number;
    const values = pointEstimates(f, r);
    for (const name of ESTIMATORS) replicates[name][b] = values[name];
    await onResample(b);
  }
  const out = {} as Record<EstimatorName, Estimate>;
  for (const name of ESTIMATORS) {
    const sorted = replicates[name].sort();
    const average = mean(sorted);
    let squares = 0;
    for (const value of sorted) squares += (value - average) ** 2;
    out[name] = {
      delta_f: point[name],
      ci: [quantile(sorted, 0.025), quantile(sorted, 0.975)],
      std_error: Math.sqrt(squares / Math.max(1, resamples - 1)),
    };
  }
  return out;
}

export interface WorkHistograms {
  /** Bin edges (bins + 1) over the range of both work samples. */
  edges: number[];
  /** Counts of the forward work W_F = −A_F. */
  forward: number[];
  /** Counts of −W_R = A_R, which Crooks compares with W_F. */
  reverse: number[];
  /** Σ_bins min(p_F, p_R) of the normalised histograms: 0 = no overlap, 1 = identical. */
  overlap: number;
}

export function workHistograms(forward: Float64Array, reverse: Float64Array, bins = 40): WorkHistograms {
  const work = forward.map((value) => -value);
  let low = Infinity;
  let high = -Infinity;
  for (const value of [...work, ...reverse]) {
    if (!Number.isFinite(value)) continue;
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  if (!(high > low)) high = low + 1;
  const width = (high - low) / bins;
  const count = (values: Float64Array) => {
    const counts = new Array<number>(bins).fill(0);
    for (const value of values) {
      if (!Number.isFinite(value)) continue;
      const bin = Math.min(bins - 1, Math.floor((value - low) / width));
      counts[bin] = (counts[bin] as number) + 1;
    }
    return counts;
  };
  const f = count(work);
  const r = count(reverse);
  let overlap = 0;
  for (let i = 0; i < bins; i++)
    overlap += Math.min((f[i] as number) / work.length, (r[i] as number) / reverse.length);
  return {
    edges: Array.from({ length: bins + 1 }, (_, i) => low + i * width),
    forward: f,
    reverse: r,
    overlap,
  };
}
