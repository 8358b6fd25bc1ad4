// Classical free-energy baselines on the same pair (FEP, BAR, AIS, TI), all through the estimators
// of estimators.ts so their CIs are computed the same way:
// - endpoint: FEP/Zwanzig both ways and equilibrium BAR from end-state samples, A_F = U_a − U_b at x ~ ρ_a,
//   A_R = U_b − U_a at y ~ ρ_b (the path-weight estimators with K = 0).
// - AIS / plain Jarzynski along U_λ = (1 − λ)U_a + λU_b, λ_k = k/K: A += −(λ_k − λ_{k−1})(U_b − U_a)(x), then a
//   MALA step at λ_k (invariant for ρ_λk, so the telescoping weights are exact), forward and reverse, with
//   non-equilibrium BAR from the two. τ(λ) comes from a short adaptive pilot and is then fixed (aisStepSizes).
// - TI: ΔF = ∫_0^1 E_{ρ_λ}[U_b − U_a] dλ with Gauss–Legendre windows; at each window the chains continue from
//   the previous window's states (the first from ρ_a samples), adapt τ and discard the first half of their
//   steps, and average U_b − U_a over the second half. CI: ±1.96 √(Σ w_j² SE_j²), SE_j from the spread of the
//   chain means (the quadrature error is not in it).
import type { Random } from '../../lib/random.js';
import type { Evaluations } from './counters.js';
import { gaussLegendre } from './gauss-legendre.js';
import { adaptStepSize, LangevinChains } from './mala.js';
import type { SystemPair } from './systems/end-state.js';

export function endpointLogWeights(
  pair: SystemPair,
  samplesA: Float64Array,
  samplesB: Float64Array,
  evaluations: Evaluations,
): { forward: Float64Array; reverse: Float64Array } {
  const d = pair.dim;
  const difference = (samples: Float64Array, sign: number) => {
    const count = samples.length / d;
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const x = samples.subarray(i * d, (i + 1) * d);
      out[i] = sign * (pair.a.energy(x) - pair.b.energy(x));
    }
    evaluations.potential += count;
    return out;
  };
  return { forward: difference(samplesA, 1), reverse: difference(samplesB, -1) };
}

export interface AisSettings {
  steps: number;
  /** τ of the MALA step at λ_j = j/K, j = 1 … K − 1 (index j); shared by both directions. */
  stepSizes: Float64Array;
}

/**
 * The MALA step sizes of AIS, fixed before the runs: a forward pilot on `start` (consumed) adapts τ after
 * every step and records it per λ_j. Both directions then use the same τ(λ), so the reverse protocol is the
 * time reversal of the forward one and Crooks — hence non-equilibrium BAR — holds. (Adapting inside each run
 * breaks that: BAR was biased by 0.09 on a Gaussian pair while both one-sided estimates were not.)
 */
export async function aisStepSizes(
  pair: SystemPair,
  start: Float64Array,
  steps: number,
  initialStepSize: number,
  random: Random,
  evaluations: Evaluations,
): Promise<Float64Array> {
  const chains = new LangevinChains([pair.a, pair.b], start, start.length / pair.dim, evaluations);
  const stepSizes = new Float64Array(steps);
  let stepSize = initialStepSize;
  for (let j = 1; j < steps; j++) {
    chains.setWeights([1 - j / steps, j / steps]);
    // Two adaptation rounds per λ: the pilot is small, its acceptance estimates noisy.
    for (let round = 0; round < 2; round++) stepSize = adaptStepSize(stepSize, chains.step(random, stepSize));
    stepSizes[j] = stepSize;
  }
  return stepSizes;
}

/** Annealed importance sampling log weights from `start` (consumed): 'forward' a → b or 'reverse' b → a. */
export async function aisLogWeights(
  direction: 'forward' | 'reverse',
  pair: SystemPair,
  start: Float64Array,
  settings: AisSettings,
  random: Random,
  evaluations: Evaluations,
  onStep: (step: number) => Promise<void>,
): Promise<{ logWeights: Float64Array; acceptance: number }> {
  const count = start.length / pair.dim;
  const chains = new LangevinChains([pair.a, pair.b], start, count, evaluations);
  const { steps } = settings;
  // Index j of λ_j = j/K after k steps in this direction.
  const indexAt = (k: number) => (direction === 'forward' ? k : steps - k);
  const logWeights = new Float64Array(count);
  let acceptance = 0;
  for (let k = 1; k <= steps; k++) {
    const change = (indexAt(k) - indexAt(k - 1)) / steps;
    for (let i = 0; i < count; i++) {
      logWeights[i] = (logWeights[i] as number) - change * (chains.energy(1, i) - chains.energy(0, i));
    }
    if (k < steps) {
      const lambda = indexAt(k) / steps;
      chains.setWeights([1 - lambda, lambda]);
      acceptance += chains.step(random, settings.stepSizes[indexAt(k)] as number);
    }
    await onStep(k);
  }
  return { logWeights, acceptance: acceptance / Math.max(1, steps - 1) };
}

export interface TiSettings {
  windows: number;
  chains: number;
  stepsPerWindow: number;
  stepSize: number;
}

export interface TiResult {
  delta_f: number;
  ci: [number, number];
  std_error: number;
  windows: Array<{
    lambda: number;
    weight: number;
    mean_energy_difference: number;
    std_error: number;
    acceptance: number;
  }>;
}

export async function thermodynamicIntegration(
  pair: SystemPair,
  start: Float64Array,
  settings: TiSettings,
  random: Random,
  evaluations: Evaluations,
  onWindow: (window: number) => Promise<void>,
): Promise<TiResult> {
  const { nodes, weights } = gaussLegendre(settings.windows);
  const chains = new LangevinChains([pair.a, pair.b], start, settings.chains, evaluations);
  const burnIn = Math.floor(settings.stepsPerWindow / 2);
  const kept = settings.stepsPerWindow - burnIn;
  let stepSize = settings.stepSize;
  let estimate = 0;
  let variance = 0;
  const windows: TiResult['windows'] = [];
  const sums = new Float64Array(settings.chains);
  for (let w = 0; w < nodes.length; w++) {
    const lambda = nodes[w] as number;
    chains.setWeights([1 - lambda, lambda]);
    sums.fill(0);
    let acceptance = 0;
    for (let step = 0; step < settings.stepsPerWindow; step++) {
      const accepted = chains.step(random, stepSize);
      if (step < burnIn) {
        stepSize = adaptStepSize(stepSize, accepted);
        continue;
      }
      acceptance += accepted;
      for (let i = 0; i < settings.chains; i++)
        sums[i] = (sums[i] as number) + chains.energy(1, i) - chains.energy(0, i);
    }
    let windowMean = 0;
    for (const sum of sums) windowMean += sum / kept;
    windowMean /= settings.chains;
    let squares = 0;
    for (const sum of sums) squares += (sum / kept - windowMean) ** 2;
    const standardError = Math.sqrt(squares / Math.max(1, settings.chains - 1) / settings.chains);
    const weight = weights[w] as number;
    estimate += weight * windowMean;
    variance += weight * weight * standardError * standardError;
    windows.push({
      lambda,
      weight,
      mean_energy_difference: windowMean,
      std_error: standardError,
      acceptance: acceptance / kept,
    });
    await onWindow(w);
  }
  const halfWidth = 1.96 * Math.sqrt(variance);
  return {
    delta_f: estimate,
    ci: [estimate - halfWidth, estimate + halfWidth],
    std_error: Math.sqrt(variance),
    windows,
  };
}
