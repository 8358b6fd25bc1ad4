// One feat.free-energy run (FEAT: Free energy Estimators with Adaptive Transport, He et al., arXiv
// 2504.11516), in three phases: draw end-state samples (exact, or MALA chains); integrate the forward and
// reverse escorted SDEs with the FB-RND path weights and estimate ΔF five ways with bootstrap CIs, ESS and
// work histograms; then the classical baselines on the same pair. Every random draw comes from its own
// stream of the seed (SEED_STREAMS), so a phase's numbers do not depend on what another phase drew. Pure:
// params, a transport, a seed, a progress callback and a signal in, a result out.
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

/**
 * The derived seed stream of every random draw of a run, by what it draws. The numbers are part of the
 * reproducibility contract: a run with the same seed draws the same values as before.
 */
const SEED_STREAMS = {
  endStateA: 0,
  endStateB: 1,
  forwardPaths: 2,
  reversePaths: 3,
  featBootstrap: 4,
  extraEndStateA: 5,
  extraEndStateB: 6,
  endpointBootstrap: 7,
  aisForward: 8,
  aisReverse: 9,
  aisBootstrap: 10,
  ti: 11,
  aisPilot: 12,
} as const;

type Settings = ReturnType<typeof resolveFeatParams>;

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

/** How a run advances: its progress units (one per MCMC step, integration step and tenth of a TI window step). */
class Progress {
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly hooks: RunHooks,
  ) {}

  async advance(units: number, message: string, phase: string): Promise<void> {
    this.done += units;
    this.hooks.progress(Math.min(1, this.done / this.total), message, phase);
    await this.hooks.checkpoint();
  }

  /** Reports without advancing (extra baseline samples are not counted in the total). */
  report(message: string, phase: string): void {
    this.hooks.progress(Math.min(1, this.done / this.total), message, phase);
  }
}

/** The baselines' sizes: TI chains and steps per window so that TI spends about FEAT's evaluations. */
function tiSize(settings: Settings) {
  const { n_forward: nF, n_reverse: nR, steps } = settings;
  const chains = Math.min(nF, 200);
  const stepsPerWindow = Math.max(
    2,
    Math.floor(((nF + nR) * (steps + 1)) / (settings.baselines.ti_windows * chains)),
  );
  return { chains, stepsPerWindow };
}

function progressUnits(settings: Settings, pair: SystemPair): number {
  const mcmcStates = [pair.a, pair.b].filter((state) => state.sample === undefined).length;
  const { baselines, steps } = settings;
  const ti = tiSize(settings);
  return (
    mcmcStates * settings.mcmc.steps +
    2 * steps +
    (baselines.enabled ? 2 * steps + (baselines.ti_windows * ti.stepsPerWindow) / 10 : 0)
  );
}

/** Phase 1: n_F samples of ρ_a and n_R of ρ_b, exact where the system can, else by MALA. */
async function drawEndStates(
  settings: Settings,
  pair: SystemPair,
  streams: (name: keyof typeof SEED_STREAMS) => Random,
  progress: Progress,
) {
  const evaluations = newEvaluations();
  const draw = (state: EndState, count: number, stream: keyof typeof SEED_STREAMS, label: 'a' | 'b') =>
    sampleEndState(
      state,
      count,
      streams(stream),
      { steps: settings.mcmc.steps, stepSize: settings.mcmc.step_size },
      evaluations,
      (step) =>
        progress.advance(
          1,
          `MCMC for state ${label}: step ${step + 1} of ${settings.mcmc.steps}`,
          `mcmc_${label}`,
        ),
    );
  const a = await draw(pair.a, settings.n_forward, 'endStateA', 'a');
  const b = await draw(pair.b, settings.n_reverse, 'endStateB', 'b');
  return { a, b, evaluations };
}

/** Phase 2: FEAT's forward and reverse paths and the bootstrap of its five estimates. */
async function runPaths(
  settings: Settings,
  pair: SystemPair,
  fields: Transport,
  ends: { a: Float64Array; b: Float64Array },
  evaluations: Evaluations,
  streams: (name: keyof typeof SEED_STREAMS) => Random,
  progress: Progress,
  hooks: RunHooks,
) {
  const { steps, eps } = settings;
  const path = (direction: 'forward' | 'reverse', start: Float64Array, count: number) =>
    pathLogWeights(
      direction,
      pair,
      fields,
      Float64Array.from(start),
      count,
      { steps, eps },
      streams(direction === 'forward' ? 'forwardPaths' : 'reversePaths'),
      evaluations,
      (k) => progress.advance(1, `${direction} paths: step ${k} of ${steps}`, direction),
    );
  const forward = await path('forward', ends.a, settings.n_forward);
  const reverse = await path('reverse', ends.b, settings.n_reverse);
  const estimates = await bootstrapEstimates(
    forward,
    reverse,
    settings.bootstrap,
    streams('featBootstrap'),
    async (b) => {
      if (b % 20 === 0) await hooks.checkpoint();
    },
  );
  return { forward, reverse, estimates };
}

/** Phase 3: FEP and equilibrium BAR from end-state samples, AIS both ways, and TI, on the same pair. */
async function runBaselines(
  settings: Settings,
  pair: SystemPair,
  ends: { a: Float64Array; b: Float64Array },
  reference: number | undefined,
  streams: (name: keyof typeof SEED_STREAMS) => Random,
  progress: Progress,
  hooks: RunHooks,
) {
  const { n_forward: nF, n_reverse: nR, steps, baselines } = settings;
  const endpointCount = (n: number) =>
    baselines.budget === 'samples' ? n : Math.min(MAX_ENDPOINT_SAMPLES, n * (steps + 1));
  const endpointEvaluations = newEvaluations();
  const more = async (
    state: EndState,
    have: Float64Array,
    count: number,
    stream: keyof typeof SEED_STREAMS,
    label: 'a' | 'b',
  ) => {
    const extra = count - have.length / pair.dim;
    if (extra <= 0) return have;
    const drawn = await sampleEndState(
      state,
      extra,
      streams(stream),
      { steps: settings.mcmc.steps, stepSize: settings.mcmc.step_size },
      endpointEvaluations,
      async (step) => {
        if (step % 10 === 0) progress.report(`extra MCMC samples of ${label}`, 'baselines');
        await hooks.checkpoint();
      },
    );
    const out = new Float64Array(have.length + drawn.samples.length);
    out.set(have);
    out.set(drawn.samples, have.length);
    return out;
  };
  const samplesA = await more(pair.a, ends.a, endpointCount(nF), 'extraEndStateA', 'a');
  const samplesB = await more(pair.b, ends.b, endpointCount(nR), 'extraEndStateB', 'b');
  const endpoint = endpointLogWeights(pair, samplesA, samplesB, endpointEvaluations);
  const endpointEstimates = withErrors(
    await bootstrapEstimates(
      endpoint.forward,
      endpoint.reverse,
      settings.bootstrap,
      streams('endpointBootstrap'),
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
      ends.a.slice(0, pilotChains * pair.dim),
      steps,
      baselines.step_size,
      streams('aisPilot'),
      aisEvaluations,
    ),
  };
  const aisForward = await aisLogWeights(
    'forward',
    pair,
    Float64Array.from(ends.a),
    aisSettings,
    streams('aisForward'),
    aisEvaluations,
    (k) => progress.advance(1, `AIS forward: step ${k} of ${steps}`, 'ais_forward'),
  );
  const aisReverse = await aisLogWeights(
    'reverse',
    pair,
    Float64Array.from(ends.b),
    aisSettings,
    streams('aisReverse'),
    aisEvaluations,
    (k) => progress.advance(1, `AIS reverse: step ${k} of ${steps}`, 'ais_reverse'),
  );
  const ais = withErrors(
    await bootstrapEstimates(
      aisForward.logWeights,
      aisReverse.logWeights,
      settings.bootstrap,
      streams('aisBootstrap'),
    ),
    reference,
  );

  const tiEvaluations = newEvaluations();
  const size = tiSize(settings);
  const ti = await thermodynamicIntegration(
    pair,
    ends.a.slice(0, size.chains * pair.dim),
    {
      windows: baselines.ti_windows,
      chains: size.chains,
      stepsPerWindow: size.stepsPerWindow,
      stepSize: baselines.step_size,
    },
    streams('ti'),
    tiEvaluations,
    (w) => progress.advance(size.stepsPerWindow / 10, `TI: window ${w + 1} of ${baselines.ti_windows}`, 'ti'),
  );
  return {
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
      chains: size.chains,
      steps_per_window: size.stepsPerWindow,
    },
    ti_evaluations: sum(tiEvaluations),
  };
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
  const streams = (name: keyof typeof SEED_STREAMS) => new Random(deriveSeed(seed, SEED_STREAMS[name]));
  const progress = new Progress(progressUnits(settings, pair), hooks);
  const reference = pair.reference?.deltaF;
  const started = performance.now();

  const ends = await drawEndStates(settings, pair, streams, progress);
  const samplingMs = performance.now() - started;

  const featEvaluations = newEvaluations();
  const fields = transport(featEvaluations);
  const featStarted = performance.now();
  const { forward, reverse, estimates } = await runPaths(
    settings,
    pair,
    fields,
    { a: ends.a.samples, b: ends.b.samples },
    featEvaluations,
    streams,
    progress,
    hooks,
  );
  const featMs = performance.now() - featStarted;

  const baselinesStarted = performance.now();
  const baselineResult = settings.baselines.enabled
    ? await runBaselines(
        settings,
        pair,
        { a: ends.a.samples, b: ends.b.samples },
        reference,
        streams,
        progress,
        hooks,
      )
    : null;
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
        pair.reference === undefined
          ? null
          : {
              delta_f: pair.reference.deltaF,
              kind: pair.reference.kind,
              ...(pair.reference.ci === undefined ? {} : { ci: pair.reference.ci }),
            },
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
        end_state_sampling: sum(ends.evaluations),
      },
      end_state_sampling: { a: ends.a.mcmc ?? 'exact', b: ends.b.mcmc ?? 'exact' },
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
