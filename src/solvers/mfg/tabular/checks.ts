// What the tabular game's schema cannot say, each a field error with its path: tensor shapes against
// S, A, K and the horizon, state and feature indices in range, and kernels that are probability laws for
// every population — base and drift weights sum to 1, linear rows sum to 0, and P ≥ 0 at every vertex of
// the simplex of state laws (P is affine in μ, so its least value over all laws is at a vertex). Sizes are
// bounded before anything is walked, so a check costs at most about MAX_TENSOR_ENTRIES steps.
import type { FieldError } from '../../../errors.js';
import {
  type DriftTensor,
  isByTime,
  type RowsTensor,
  type StateActionTensor,
  type TabularGameParams,
  type TimedTensor,
} from './schema.js';

/** All numbers of a game's tensors together. */
export const MAX_TENSOR_ENTRIES = 5_000_000;
/** Linear kernel entries × states: the cost of the vertex check. */
const MAX_VERTEX_WORK = 1e8;
const SUM_TOLERANCE = 1e-9;
const NEGATIVE_TOLERANCE = 1e-12;

/** The tensor in force at each time (`count` times), with its path; undefined where the shape is wrong. */
export function perTime<T>(
  tensor: TimedTensor<T>,
  count: number | undefined,
  path: string,
  errors: FieldError[],
): { value: T; path: string }[] {
  if (isByTime(tensor)) {
    if (count === undefined) {
      errors.push({ path: `${path}/by_time`, message: 'a stationary game has no times; give one tensor' });
      return [];
    }
    if (tensor.by_time.length !== count) {
      errors.push({ path: `${path}/by_time`, message: `must have ${count} entries (one per time)` });
      return [];
    }
    return tensor.by_time.map((value, t) => ({ value, path: `${path}/by_time/${t}` }));
  }
  return [{ value: tensor as T, path }];
}

function checkStateAction<T extends unknown[]>(
  tensor: T[],
  states: number,
  actions: number,
  path: string,
  errors: FieldError[],
): boolean {
  if (tensor.length !== states) {
    errors.push({ path, message: `must have ${states} entries (one per state)` });
    return false;
  }
  const bad = tensor.findIndex((row) => row.length !== actions);
  if (bad >= 0) {
    errors.push({ path: `${path}/${bad}`, message: `must have ${actions} entries (one per action)` });
    return false;
  }
  return true;
}

function countEntries(params: TabularGameParams): number {
  const nested = (value: unknown): number => {
    if (typeof value !== 'object' || value === null) return 1;
    return Object.values(value).reduce((sum: number, item) => sum + nested(item), 0);
  };
  return nested(params.features ?? []) + nested(params.reward) + nested(params.transition);
}

interface Context {
  states: number;
  actions: number;
  features: number;
  /** Times a reward is given for (T + 1), or undefined for a stationary game. */
  rewardTimes: number | undefined;
  /** Times a kernel is given for (T), or undefined for a stationary game. */
  kernelTimes: number | undefined;
  errors: FieldError[];
}

function checkFeatureIndex(index: number, path: string, context: Context) {
  if (index >= context.features)
    context.errors.push({ path, message: `must be below the number of statistics (${context.features})` });
}

function checkRewards(params: TabularGameParams, path: string, context: Context) {
  const { states, actions, rewardTimes, errors } = context;
  const check = (tensor: TimedTensor<StateActionTensor> | undefined, at: string) => {
    if (tensor === undefined) return;
    for (const { value, path: where } of perTime(tensor, rewardTimes, at, errors))
      checkStateAction(value, states, actions, where, errors);
  };
  const reward = params.reward;
  check(reward.constant, `${path}/constant`);
  check(reward.log_density, `${path}/log_density`);
  reward.linear?.forEach((term, l) => {
    checkFeatureIndex(term.feature, `${path}/linear/${l}/feature`, context);
    check(term.coefficient, `${path}/linear/${l}/coefficient`);
  });
  reward.quadratic?.forEach((term, m) => {
    term.features.forEach((feature, i) => {
      checkFeatureIndex(feature, `${path}/quadratic/${m}/features/${i}`, context);
    });
    check(term.coefficient, `${path}/quadratic/${m}/coefficient`);
  });
}

/** Rows whose next states are in range, per time; undefined where a shape is wrong. */
function rowsPerTime(
  tensor: TimedTensor<RowsTensor>,
  path: string,
  context: Context,
): { value: RowsTensor; path: string }[] | undefined {
  const { states, actions, errors } = context;
  const times = perTime(tensor, context.kernelTimes, path, errors);
  const before = errors.length;
  for (const { value, path: where } of times) {
    if (!checkStateAction(value, states, actions, where, errors)) continue;
    value.forEach((byAction, s) => {
      byAction.forEach((pairs, a) => {
        pairs.forEach(([next], k) => {
          if (next >= states)
            errors.push({ path: `${where}/${s}/${a}/${k}/0`, message: `must be a state below ${states}` });
        });
      });
    });
  }
  return errors.length === before && times.length > 0 ? times : undefined;
}

function rowSum(pairs: [number, number][]): number {
  return pairs.reduce((sum, [, p]) => sum + p, 0);
}

/** Per (t, s, a): the base and drift weights sum to 1, linear rows to 0, and P ≥ 0 at every vertex. */
function checkLaws(params: TabularGameParams, path: string, context: Context) {
  const { states, actions, errors } = context;
  const transition = params.transition;
  const base = rowsPerTime(transition.base, `${path}/base`, context);
  const linear = (transition.linear ?? []).map((term, l) => {
    checkFeatureIndex(term.feature, `${path}/linear/${l}/feature`, context);
    return rowsPerTime(term.rows, `${path}/linear/${l}/rows`, context);
  });
  let drift: { value: DriftTensor; path: string }[] | undefined;
  if (transition.drift !== undefined) {
    checkFeatureIndex(transition.drift.feature, `${path}/drift/feature`, context);
    drift = perTime(transition.drift.outcomes, context.kernelTimes, `${path}/drift/outcomes`, errors);
    for (const { value, path: where } of drift) {
      if (!checkStateAction(value, states, actions, where, errors)) drift = undefined;
    }
  }
  if (base === undefined || linear.includes(undefined) || errors.length > 0) return;
  const linearEntries = linear.reduce(
    (sum, times) => sum + (times ?? []).reduce((n, { value }) => n + value.flat(2).length, 0),
    0,
  );
  if (linearEntries * states > MAX_VERTEX_WORK) {
    errors.push({
      path: `${path}/linear`,
      message: `linear kernel entries × states is ${linearEntries * states}; the limit is ${MAX_VERTEX_WORK}`,
    });
    return;
  }
  const phi = featureValues(params);
  const pick = <T>(times: { value: T; path: string }[], t: number) =>
    times[Math.min(t, times.length - 1)] as { value: T; path: string };
  const kernelTimes = Math.max(base.length, drift?.length ?? 1, ...linear.map((times) => times?.length ?? 1));
  for (let t = 0; t < kernelTimes; t++) {
    const baseAt = pick(base, t);
    const driftAt = drift === undefined ? undefined : pick(drift, t);
    const linearAt = linear.map((times, l) => ({
      ...pick(times ?? [], t),
      feature: transition.linear?.[l]?.feature ?? 0,
    }));
    for (let s = 0; s < states && errors.length < 20; s++) {
      for (let a = 0; a < actions; a++) {
        const where = `${baseAt.path}/${s}/${a}`;
        const pairs = baseAt.value[s]?.[a] ?? [];
        const outcomes = driftAt?.value[s]?.[a] ?? [];
        if (outcomes.some(([, , w]) => w < 0)) {
          errors.push({ path: `${driftAt?.path}/${s}/${a}`, message: 'drift weights must be ≥ 0' });
          continue;
        }
        const total = rowSum(pairs) + outcomes.reduce((sum, [, , w]) => sum + w, 0);
        if (Math.abs(total - 1) > SUM_TOLERANCE) {
          errors.push({ path: where, message: `base and drift weights must sum to 1 (sum to ${total})` });
          continue;
        }
        for (const term of linearAt) {
          const rowTotal = rowSum(term.value[s]?.[a] ?? []);
          if (Math.abs(rowTotal) > SUM_TOLERANCE)
            errors.push({
              path: `${term.path}/${s}/${a}`,
              message: `must sum to 0 so P stays a law (sums to ${rowTotal})`,
            });
        }
        const lowest = lowestProbability(
          pairs,
          linearAt.map((term) => ({ pairs: term.value[s]?.[a] ?? [], phi: phi(term.feature) })),
          states,
        );
        if (lowest !== undefined && lowest.value < -NEGATIVE_TOLERANCE) {
          errors.push({
            path: where,
            message: `P(${lowest.next} | ${s}, ${a}) is ${lowest.value} when the whole population is in state ${lowest.vertex}; it must be ≥ 0 for every law`,
          });
        }
      }
    }
  }
}

/** φ_j as a function of the state; the default statistics are the state indicators. */
function featureValues(params: TabularGameParams): (feature: number) => (state: number) => number {
  return (feature) => {
    const row = params.features?.[feature];
    if (row !== undefined) return (state) => row[state] as number;
    return (state) => (state === feature ? 1 : 0);
  };
}

/** The least of P⁰(s′) + Σ_l φ_l(v)·Q_l(s′) over next states s′ and vertices v, where it is negative-prone. */
function lowestProbability(
  base: [number, number][],
  linear: { pairs: [number, number][]; phi: (state: number) => number }[],
  states: number,
): { value: number; next: number; vertex: number } | undefined {
  const probability = new Map<number, number>();
  for (const [next, p] of base) probability.set(next, (probability.get(next) ?? 0) + p);
  const touched = new Set<number>(probability.keys());
  for (const term of linear) for (const [next] of term.pairs) touched.add(next);
  let lowest: { value: number; next: number; vertex: number } | undefined;
  for (const next of touched) {
    for (let vertex = 0; vertex < (linear.length > 0 ? states : 1); vertex++) {
      let value = probability.get(next) ?? 0;
      for (const term of linear) {
        const weight = term.phi(vertex);
        for (const [target, q] of term.pairs) if (target === next) value += weight * q;
      }
      if (lowest === undefined || value < lowest.value) lowest = { value, next, vertex };
    }
  }
  return lowest;
}

/** Every error of a tabular game's params; `horizon` undefined means the stationary form. */
export function tabularFieldErrors(params: TabularGameParams, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const entries = countEntries(params);
  if (entries > MAX_TENSOR_ENTRIES) {
    return [
      { path, message: `the game's tensors hold ${entries} numbers; the limit is ${MAX_TENSOR_ENTRIES}` },
    ];
  }
  const { states, actions } = params;
  params.features?.forEach((row, j) => {
    if (row.length !== states)
      errors.push({ path: `${path}/features/${j}`, message: `must have ${states} entries (one per state)` });
  });
  const context: Context = {
    states,
    actions,
    features: params.features?.length ?? states,
    rewardTimes: params.horizon === undefined ? undefined : params.horizon + 1,
    kernelTimes: params.horizon,
    errors,
  };
  checkRewards(params, `${path}/reward`, context);
  checkLaws(params, `${path}/transition`, context);
  return errors;
}

/** Reward and kernel terms that depend on μ: each is one more pass over the (t, s, a) cells per evaluation. */
export function tabularTermCount(params: TabularGameParams): number {
  const { reward, transition } = params;
  return (
    (reward.linear?.length ?? 0) +
    (reward.quadratic?.length ?? 0) +
    (reward.log_density === undefined ? 0 : 1) +
    (transition.linear?.length ?? 0) +
    (transition.drift === undefined ? 0 : 1)
  );
}
