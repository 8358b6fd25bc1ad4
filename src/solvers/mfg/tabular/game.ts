// A checked tabular game (checks.ts) as a FiniteGame, so every algorithm and the exploitability evaluation
// run on it unchanged. Tensors are flattened once; a kernel that does not depend on μ is compiled once per
// time, one that does is rebuilt from its terms at each call, in the order base, linear, drift.
import { roundHalfEven } from '../../../lib/round-half-even.js';
import { buildTransition, type FiniteGame, stateMarginal, type Transition } from '../finite/game.js';
import {
  type DriftTensor,
  isByTime,
  type RowsTensor,
  type StateActionTensor,
  type TabularGameParams,
  type TimedTensor,
} from './schema.js';

type AtTime<T> = (t: number) => T;

/** The tensor for time t: a per-time list indexed by t, or the one tensor for every time. */
function timed<T, U>(tensor: TimedTensor<T>, convert: (value: T) => U): AtTime<U> {
  if (isByTime(tensor)) {
    const values = tensor.by_time.map(convert);
    return (t) => values[t] as U;
  }
  const value = convert(tensor as T);
  return () => value;
}

const flat = (tensor: StateActionTensor) => Float64Array.from(tensor.flat());

/** z_j(μ) = Σ_s φ_j(s)·μ(s); without features, z = μ. */
function statisticsOf(features: number[][] | undefined): (mu: Float64Array) => Float64Array {
  if (features === undefined) return (mu) => mu;
  const phi = features.map((row) => Float64Array.from(row));
  return (mu) => {
    const z = new Float64Array(phi.length);
    phi.forEach((row, j) => {
      let sum = 0;
      for (let s = 0; s < row.length; s++) sum += (row[s] as number) * (mu[s] as number);
      z[j] = sum;
    });
    return z;
  };
}

export function tabularGame(params: TabularGameParams, horizon: number): FiniteGame {
  const { states, actions } = params;
  const width = states * actions;
  const statistics = statisticsOf(params.features);
  const spec = params.reward;
  const zeros = new Float64Array(width);
  const constant = spec.constant === undefined ? () => zeros : timed(spec.constant, flat);
  const linearRewards = (spec.linear ?? []).map((term) => ({
    feature: term.feature,
    at: timed(term.coefficient, flat),
  }));
  const quadraticRewards = (spec.quadratic ?? []).map((term) => ({
    features: term.features,
    at: timed(term.coefficient, flat),
  }));
  const logDensity = spec.log_density === undefined ? undefined : timed(spec.log_density, flat);
  const epsilon = spec.log_epsilon ?? 1e-20;

  const kernel = params.transition;
  const base = timed(kernel.base, (rows: RowsTensor) => rows);
  const linearKernels = (kernel.linear ?? []).map((term) => ({
    feature: term.feature,
    at: timed(term.rows, (rows: RowsTensor) => rows),
  }));
  const drift =
    kernel.drift === undefined
      ? undefined
      : {
          feature: kernel.drift.feature,
          origin: kernel.drift.origin ?? 0,
          at: timed(kernel.drift.outcomes, (outcomes: DriftTensor) => outcomes),
        };
  const dependsOnLaw = tabularKernelDependsOnLaw(params);
  const compiled = new Map<RowsTensor, Transition>();
  const fixedKernel = (t: number): Transition => {
    const rows = base(t);
    let transition = compiled.get(rows);
    if (transition === undefined) {
      transition = buildTransition(states, actions, (s, a, emit) => {
        for (const [next, p] of rows[s]?.[a] ?? []) emit(next, p);
      });
      compiled.set(rows, transition);
    }
    return transition;
  };

  return {
    horizon,
    states,
    actions,
    initial: Float64Array.from(params.initial ?? new Array(states).fill(1 / states)),
    reward: (t, law) => {
      const mu = stateMarginal(law, states, actions);
      const z = statistics(mu);
      const out = Float64Array.from(constant(t));
      for (const term of linearRewards) {
        const coefficient = term.at(t);
        const value = z[term.feature] as number;
        for (let i = 0; i < width; i++) out[i] = (out[i] as number) + (coefficient[i] as number) * value;
      }
      for (const term of quadraticRewards) {
        const coefficient = term.at(t);
        const value = (z[term.features[0]] as number) * (z[term.features[1]] as number);
        for (let i = 0; i < width; i++) out[i] = (out[i] as number) + (coefficient[i] as number) * value;
      }
      if (logDensity !== undefined) {
        const coefficient = logDensity(t);
        for (let s = 0; s < states; s++) {
          const log = Math.log((mu[s] as number) + epsilon);
          for (let i = s * actions; i < (s + 1) * actions; i++)
            out[i] = (out[i] as number) + (coefficient[i] as number) * log;
        }
      }
      return out;
    },
    transition: (t, law) => {
      if (!dependsOnLaw) return fixedKernel(t);
      const z = statistics(stateMarginal(law, states, actions));
      const rows = base(t);
      const linear = linearKernels.map((term) => ({ rows: term.at(t), value: z[term.feature] as number }));
      const outcomes = drift?.at(t);
      const driftValue = drift === undefined ? 0 : (z[drift.feature] as number);
      return buildTransition(states, actions, (s, a, emit) => {
        for (const [next, p] of rows[s]?.[a] ?? []) emit(next, p);
        for (const term of linear)
          for (const [next, q] of term.rows[s]?.[a] ?? []) emit(next, term.value * q);
        for (const [intercept, slope, weight] of outcomes?.[s]?.[a] ?? []) {
          const state = (drift?.origin ?? 0) + roundHalfEven(intercept + slope * driftValue);
          emit(Math.min(Math.max(state, 0), states - 1), weight);
        }
      });
    },
  };
}

/** True when the kernel depends on the population (the stationary law then needs a fixed point). */
export function tabularKernelDependsOnLaw(params: TabularGameParams): boolean {
  return (params.transition.linear?.length ?? 0) > 0 || params.transition.drift !== undefined;
}
