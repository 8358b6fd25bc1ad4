// Classical free-energy baselines on the same pair (FEAT brief §3.5, item 4), all through the estimators
// of estimators.ts so their CIs are computed the same way:
// - endpoint: FEP/Zwanzig both ways and equilibrium BAR from end-state samples, A_F = U_a − U_b at x ~ ρ_a,
//   A_R = U_b − U_a at y ~ ρ_b (the path-weight estimators with K = 0).
// - AIS / plain Jarzynski along U_λ = (1 − λ)U_a + λU_b, λ_k = k/K: A += −(λ_k − λ_{k−1})(U_b − U_a)(x), then a
//   MALA step at λ_k (invariant for ρ_λk, so the telescoping weights are exact), forward and reverse, with
//   non-equilibrium BAR from the two. τ adapts from the batch's acceptance after every step.
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
  stepSize: number;
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
  const lambdaAt = (k: number) => (direction === 'forward' ? k / settings.steps : 1 - k / settings.steps);
  const logWeights = new Float64Array(count);
  let stepSize = settings.stepSize;
  let acceptance = 0;
  for (let k = 1; k <= settings.steps; k++) {
    const change = lambdaAt(k) - lambdaAt(k - 1);
    for (let i = 0; i < count; i++) {
      logWeights[i] = (logWeights[i] as number) - change * (chains.energy(1, i) - chains.energy(0, i));
    }
    if (k < settings.steps) {
      chains.setWeights([1 - lambdaAt(k), lambdaAt(k)]);
      const accepted = chains.step(random, stepSize);
      acceptance += accepted;
      stepSize = adaptStepSize(stepSize, accepted);
    }
    await onStep(k);
  }
  return { logWeights, acceptance: acceptance / Math.max(1, settings.steps - 1) };
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
