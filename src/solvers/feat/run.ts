// One feat.free-energy run (FEAT brief §3.5): draw end-state samples (exact, or MALA chains), integrate the
// forward and reverse escorted SDEs with the FB-RND path weights, estimate ΔF five ways with bootstrap CIs,
// ESS and work histograms, then the classical baselines on the same pair. Pure: params, a transport, a seed,
// a progress callback and a signal in, a result out.
import { deriveSeed, Random } from '../../lib/random.js';
import { aisLogWeights, aisStepSizes, endpointLogWeights, thermodynamicIntegration } from './baselines.js';
import { type Evaluations, newEvaluations } from './counters.js';
import {
  bootstrapEstimates,
  type Estimate,
  type EstimatorName,
  effectiveSampleSize,
  workHistograms,
} from './estimators.js';
import { sampleEndState } from './mala.js';
import type { FeatParams } from './params.js';
import { resolveFeatParams } from './params.js';
import { pathLogWeights } from './paths.js';
import type { EndState, SystemPair } from './systems/end-state.js';
import { analyticTransport, noTransport, type Transport } from './transport.js';

/** End samples for FEP/BAR under the evaluation budget, per side. */
export const MAX_ENDPOINT_SAMPLES = 200_000;

export interface RunHooks {
  /** fraction in [0, 1]; called after every step of every phase. */
  progress(fraction: number, message: string, phase: string): void;
  /** Awaited after every step; throws to cancel. */
  checkpoint(): Promise<void>;
}

type WithError = Estimate & { error: number | null };

function withErrors(estimates: Record<string, Estimate>, reference: number | undefined) {
  return Object.fromEntries(
    Object.entries(estimates).map(([name, estimate]) => [
      name,
      { ...estimate, error: reference === undefined ? null : estimate.delta_f - reference },
    ]),
  ) as Record<EstimatorName, WithError>;
}

function workSummary(logWeights: Float64Array, sign: number) {
  let mean = 0;
  for (const value of logWeights) mean += (sign * value) / logWeights.length;
  let squares = 0;
  for (const value of logWeights) squares += (sign * value - mean) ** 2;
  return { mean, std: Math.sqrt(squares / Math.max(1, logWeights.length - 1)) };
}

const sum = (e: Evaluations) => e.field + e.potential;

export function builtinTransport(
  kind: 'none' | 'analytic',
  pair: SystemPair,
  evaluations: Evaluations,
): Transport {
  if (kind === 'none') return noTransport(pair, evaluations);
  const transport = analyticTransport(pair, evaluations);
  if (transport === undefined) throw new Error('the analytic transport needs Gaussian end states');
  return transport;
}

export async function runFeat(
  params: FeatParams,
  pair: SystemPair,
  transport: (evaluations: Evaluations) => Transport,
  seed: number,
  hooks: RunHooks,
) {
  const settings = resolveFeatParams(params);
  const { n_forward: nF, n_reverse: nR, steps, eps } = settings;
  const baselines = settings.baselines;
  const tiChains = Math.min(nF, 200);
  const tiSteps = Math.max(2, Math.floor(((nF + nR) * (steps + 1)) / (baselines.ti_windows * tiChains)));
  const mcmcStates = [pair.a, pair.b].filter((state) => state.sample === undefined).length;
  const endpointCount = (n: number) =>
    baselines.budget === 'samples' ? n : Math.min(MAX_ENDPOINT_SAMPLES, n * (steps + 1));
  // Progress units: one per MCMC step, integration step, and TI window step.
  const total =
    mcmcStates * settings.mcmc.steps +
    2 * steps +
    (baselines.enabled ? 2 * steps + (baselines.ti_windows * tiSteps) / 10 : 0);
  let done = 0;
  const advance = async (units: number, message: string, phase: string) => {
    done += units;
    hooks.progress(Math.min(1, done / total), message, phase);
    await hooks.checkpoint();
  };
  const started = performance.now();

  // 1. End-state samples.
  const sampling = newEvaluations();
  const draw = async (state: EndState, count: number, stream: number, label: 'a' | 'b') =>
    sampleEndState(
      state,
      count,
      new Random(deriveSeed(seed, stream)),
      { steps: settings.mcmc.steps, stepSize: settings.mcmc.step_size },
      sampling,
      (step) =>
        advance(1, `MCMC for state ${label}: step ${step + 1} of ${settings.mcmc.steps}`, `mcmc_${label}`),
    );
  const endA = await draw(pair.a, nF, 0, 'a');
  const endB = await draw(pair.b, nR, 1, 'b');
  const samplingMs = performance.now() - started;

  // 2. FEAT paths, forward then reverse.
  const featEvaluations = newEvaluations();
  const fields = transport(featEvaluations);
  const featStarted = performance.now();
  const path = (direction: 'forward' | 'reverse', start: Float64Array, count: number, stream: number) =>
    pathLogWeights(
      direction,
      pair,
      fields,
      Float64Array.from(start),
      count,
      { steps, eps },
      new Random(deriveSeed(seed, stream)),
      featEvaluations,
      (k) => advance(1, `${direction} paths: step ${k} of ${steps}`, direction),
    );
  const forward = await path('forward', endA.samples, nF, 2);
  const reverse = await path('reverse', endB.samples, nR, 3);
  const estimates = await bootstrapEstimates(
    forward,
    reverse,
    settings.bootstrap,
    new Random(deriveSeed(seed, 4)),
    async (b) => {
      if (b % 20 === 0) await hooks.checkpoint();
    },
  );
  const featMs = performance.now() - featStarted;
  const reference = pair.reference?.deltaF;

  // 3. Classical baselines.
  let baselineResult: Record<string, unknown> | null = null;
  const baselinesStarted = performance.now();
  if (baselines.enabled) {
    const endpointEvaluations = newEvaluations();
    const more = async (
      state: EndState,
      have: Float64Array,
      count: number,
      stream: number,
      label: 'a' | 'b',
    ) => {
      const extra = count - have.length / pair.dim;
      if (extra <= 0) return have;
      const drawn = await sampleEndState(
        state,
        extra,
        new Random(deriveSeed(seed, stream)),
        { steps: settings.mcmc.steps, stepSize: settings.mcmc.step_size },
        endpointEvaluations,
        async (step) => {
          if (step % 10 === 0) hooks.progress(done / total, `extra MCMC samples of ${label}`, 'baselines');
          await hooks.checkpoint();
        },
      );
      const out = new Float64Array(have.length + drawn.samples.length);
      out.set(have);
      out.set(drawn.samples, have.length);
      return out;
    };
    const samplesA = await more(pair.a, endA.samples, endpointCount(nF), 5, 'a');
    const samplesB = await more(pair.b, endB.samples, endpointCount(nR), 6, 'b');
    const endpoint = endpointLogWeights(pair, samplesA, samplesB, endpointEvaluations);
    const endpointEstimates = withErrors(
      await bootstrapEstimates(
        endpoint.forward,
        endpoint.reverse,
        settings.bootstrap,
        new Random(deriveSeed(seed, 7)),
      ),
      reference,
    );
    await hooks.checkpoint();
    const aisEvaluations = newEvaluations();
    const pilotChains = Math.min(nF, 100);
    const aisSettings = {
      steps,
      stepSizes: await aisStepSizes(
        pair,
        endA.samples.slice(0, pilotChains * pair.dim),
        steps,
        baselines.step_size,
        new Random(deriveSeed(seed, 12)),
        aisEvaluations,
      ),
    };
    const aisForward = await aisLogWeights(
      'forward',
      pair,
      Float64Array.from(endA.samples),
      aisSettings,
      new Random(deriveSeed(seed, 8)),
      aisEvaluations,
      (k) => advance(1, `AIS forward: step ${k} of ${steps}`, 'ais_forward'),
    );
    const aisReverse = await aisLogWeights(
      'reverse',
      pair,
      Float64Array.from(endB.samples),
      aisSettings,
      new Random(deriveSeed(seed, 9)),
      aisEvaluations,
      (k) => advance(1, `AIS reverse: step ${k} of ${steps}`, 'ais_reverse'),
    );
    const ais = withErrors(
      await bootstrapEstimates(
        aisForward.logWeights,
        aisReverse.logWeights,
        settings.bootstrap,
        new Random(deriveSeed(seed, 10)),
      ),
      reference,
    );
    const tiEvaluations = newEvaluations();
    const ti = await thermodynamicIntegration(
      pair,
      endA.samples.slice(0, tiChains * pair.dim),
      {
        windows: baselines.ti_windows,
        chains: tiChains,
        stepsPerWindow: tiSteps,
        stepSize: baselines.step_size,
      },
      new Random(deriveSeed(seed, 11)),
      tiEvaluations,
      (w) => advance(tiSteps / 10, `TI: window ${w + 1} of ${baselines.ti_windows}`, 'ti'),
    );
    baselineResult = {
      budget: baselines.budget,
      fep_forward: { ...endpointEstimates.forward, samples: endpoint.forward.length },
      fep_reverse: { ...endpointEstimates.reverse, samples: endpoint.reverse.length },
      bar_equilibrium: {
        ...endpointEstimates.bar,
        samples: endpoint.forward.length + endpoint.reverse.length,
      },
      endpoint_evaluations: sum(endpointEvaluations),
      ais_forward: { ...ais.forward, ess_fraction: effectiveSampleSize(aisForward.logWeights) / nF },
      ais_reverse: { ...ais.reverse, ess_fraction: effectiveSampleSize(aisReverse.logWeights) / nR },
      ais_bar: ais.bar,
      ais_bounds: { lower: ais.bound_lower, upper: ais.bound_upper },
      ais_evaluations: sum(aisEvaluations),
      ais_acceptance: { forward: aisForward.acceptance, reverse: aisReverse.acceptance },
      ti: {
        delta_f: ti.delta_f,
        ci: ti.ci,
        std_error: ti.std_error,
        error: reference === undefined ? null : ti.delta_f - reference,
        windows: ti.windows,
        chains: tiChains,
        steps_per_window: tiSteps,
      },
      ti_evaluations: sum(tiEvaluations),
    };
  }
  const baselinesMs = performance.now() - baselinesStarted;
  const featEstimates = withErrors(estimates, reference);
  const histograms = workHistograms(forward, reverse, settings.histogram_bins);
  const bracket =
    reference === undefined
      ? null
      : featEstimates.bound_lower.delta_f <= reference && reference <= featEstimates.bound_upper.delta_f;
  return {
    result: {
      system: { name: pair.name, dim: pair.dim },
      reference:
        pair.reference === undefined ? null : { delta_f: pair.reference.deltaF, kind: pair.reference.kind },
      transport: { kind: fields.kind },
      settings: { n_forward: nF, n_reverse: nR, steps, eps, bootstrap: settings.bootstrap },
      estimates: featEstimates,
      bounds_bracket_reference: bracket,
      ess: {
        forward: effectiveSampleSize(forward),
        reverse: effectiveSampleSize(reverse),
        forward_fraction: effectiveSampleSize(forward) / nF,
        reverse_fraction: effectiveSampleSize(reverse) / nR,
      },
      work: {
        forward: workSummary(forward, -1),
        reverse: workSummary(reverse, -1),
        overlap: histograms.overlap,
        histograms,
      },
      evaluations: {
        field: featEvaluations.field,
        potential: featEvaluations.potential,
        total: sum(featEvaluations),
        end_state_sampling: sum(sampling),
      },
      end_state_sampling: { a: endA.mcmc ?? 'exact', b: endB.mcmc ?? 'exact' },
      baselines: baselineResult,
      wall_ms: {
        total: performance.now() - started,
        sampling: samplingMs,
        feat: featMs,
        baselines: baselinesMs,
      },
    },
    logWeights: { forward, reverse },
  };
}
