// W1 between weighted point sets (particles with weight 1/N, grid measures with their cell weights at the
// cell centres), exactly in one dimension: W1 = ∫|F − G| on the line, and on the circle of length 2π
// W1 = min_α ∫|F − G − α| with α a weighted median of F − G (Rabin, Delon & Gousseau 2011). In two dimensions
// the exact transport between histograms is a large linear program, so the job reports the sliced W1 (the
// mean 1-D W1 of projections on 16 fixed directions, a lower bound of W1) on the box, and the mean of the two
// coordinate marginals' circle W1 on the torus (also a lower bound). Placing a grid measure at its cell
// centres moves mass by at most half a cell width, which bounds the error that adds.
//
// Cost: particles are sorted natively (Float64Array.prototype.sort); a weighted set is sorted by index, and
// that order is cached per source array and projection, because the same cell centres come back at every
// report. A cached order is used only after checking, in O(n), that it still sorts the projection.

export interface WeightedPoints {
  /** One coordinate per point (project first in 2-D). */
  positions: Float64Array;
  /** Probability weights summing to 1; undefined means 1/count each. */
  weights?: Float64Array;
}

/** Points row-major count × dimension, with probability weights (undefined: 1/count each). */
export interface Atoms {
  points: Float64Array;
  weights?: Float64Array;
}

/** Atoms on a line in ascending order. */
interface SortedAtoms {
  positions: Float64Array;
  weights: Float64Array | undefined;
}

const orderCache = new WeakMap<Float64Array, Map<string, Uint32Array>>();

function sortsAscending(order: Uint32Array, values: Float64Array): boolean {
  if (order.length !== values.length) return false;
  for (let i = 1; i < order.length; i++)
    if ((values[order[i] as number] as number) < (values[order[i - 1] as number] as number)) return false;
  return true;
}

function ascendingOrder(values: Float64Array): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((i, j) => (values[i] as number) - (values[j] as number));
}

/** Sorts one projected set; `cache` names its source array and projection for weighted sets. */
function sortAtoms(
  projected: Float64Array,
  weights: Float64Array | undefined,
  cache?: { source: Float64Array; key: string },
): SortedAtoms {
  if (weights === undefined) return { positions: projected.slice().sort(), weights: undefined };
  let order: Uint32Array | undefined;
  if (cache !== undefined) {
    let byKey = orderCache.get(cache.source);
    if (byKey === undefined) {
      byKey = new Map();
      orderCache.set(cache.source, byKey);
    }
    order = byKey.get(cache.key);
    if (order === undefined || !sortsAscending(order, projected)) {
      order = ascendingOrder(projected);
      byKey.set(cache.key, order);
    }
  } else {
    order = ascendingOrder(projected);
  }
  const positions = new Float64Array(order.length);
  const sortedWeights = new Float64Array(order.length);
  for (let i = 0; i < order.length; i++) {
    positions[i] = projected[order[i] as number] as number;
    sortedWeights[i] = weights[order[i] as number] as number;
  }
  return { positions, weights: sortedWeights };
}

/**
 * Walks both sorted sets in merged order and calls `segment(difference, from, to)` for every interval between
 * consecutive atoms, with difference = F(from) − G(from) on it.
 */
function walk(
  a: SortedAtoms,
  b: SortedAtoms,
  segment: (difference: number, from: number, to: number) => void,
) {
  const na = a.positions.length;
  const nb = b.positions.length;
  const shareA = 1 / na;
  const shareB = 1 / nb;
  let i = 0;
  let j = 0;
  let difference = 0;
  let previous = Math.min(a.positions[0] as number, b.positions[0] as number);
  while (i < na || j < nb) {
    const fromA = j >= nb || (i < na && (a.positions[i] as number) <= (b.positions[j] as number));
    const next = fromA ? (a.positions[i] as number) : (b.positions[j] as number);
    segment(difference, previous, next);
    previous = next;
    if (fromA) {
      difference += a.weights === undefined ? shareA : (a.weights[i] as number);
      i++;
    } else {
      difference -= b.weights === undefined ? shareB : (b.weights[j] as number);
      j++;
    }
  }
}

function w1SortedLine(a: SortedAtoms, b: SortedAtoms): number {
  let sum = 0;
  walk(a, b, (difference, from, to) => {
    sum += Math.abs(difference) * (to - from);
  });
  return sum;
}

const TWO_PI = 2 * Math.PI;

/** Both sets already in [0, 2π) and sorted. */
function w1SortedCircle(a: SortedAtoms, b: SortedAtoms): number {
  // D = F − G on each arc between consecutive atoms; the arc through 0 (from the last atom round to the
  // first) carries D = 0, the value before the first atom and after the last.
  const values: number[] = [];
  const lengths: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  walk(a, b, (difference, from, to) => {
    if (to > from) {
      values.push(difference);
      lengths.push(to - from);
    }
    first = Math.min(first, from);
    last = Math.max(last, to);
  });
  values.push(0);
  lengths.push(first + TWO_PI - last);
  const order = ascendingOrder(Float64Array.from(values));
  let cumulative = 0;
  let median = 0;
  for (const i of order) {
    cumulative += lengths[i] as number;
    if (cumulative >= TWO_PI / 2) {
      median = values[i] as number;
      break;
    }
  }
  let sum = 0;
  for (let i = 0; i < values.length; i++)
    sum += (lengths[i] as number) * Math.abs((values[i] as number) - median);
  return sum;
}

export function w1Line(a: WeightedPoints, b: WeightedPoints): number {
  return w1SortedLine(sortAtoms(a.positions, a.weights), sortAtoms(b.positions, b.weights));
}

const wrap = (positions: Float64Array) =>
  Float64Array.from(positions, (x) => ((x % TWO_PI) + TWO_PI) % TWO_PI);

export function w1Circle(a: WeightedPoints, b: WeightedPoints): number {
  return w1SortedCircle(sortAtoms(wrap(a.positions), a.weights), sortAtoms(wrap(b.positions), b.weights));
}

/** Coordinate `c` of every point of a row-major count × dimension array. */
export function coordinate(points: Float64Array, dimension: number, c: number): Float64Array {
  const count = points.length / dimension;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = points[i * dimension + c] as number;
  return out;
}

const SLICES = 16;

function project(points: Float64Array, angle: number): Float64Array {
  const count = points.length / 2;
  const out = new Float64Array(count);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  for (let i = 0; i < count; i++)
    out[i] = cos * (points[2 * i] as number) + sin * (points[2 * i + 1] as number);
  return out;
}

/** W1 in 1-D, sliced W1 (16 directions θ_s = sπ/16) in 2-D. */
export function w1Box(dimension: number, a: Atoms, b: Atoms): number {
  const sorted = (atoms: Atoms, projected: Float64Array, key: string) =>
    sortAtoms(projected, atoms.weights, { source: atoms.points, key });
  if (dimension === 1) return w1SortedLine(sorted(a, a.points, 'line'), sorted(b, b.points, 'line'));
  let sum = 0;
  for (let s = 0; s < SLICES; s++) {
    const angle = (s * Math.PI) / SLICES;
    const key = `slice ${s}`;
    sum += w1SortedLine(sorted(a, project(a.points, angle), key), sorted(b, project(b.points, angle), key));
  }
  return sum / SLICES;
}

/** Circle W1 in 1-D; the mean of the coordinate marginals' circle W1 on the 2-D torus. */
export function w1Torus(dimension: number, a: Atoms, b: Atoms): number {
  const sorted = (atoms: Atoms, c: number) =>
    sortAtoms(wrap(coordinate(atoms.points, dimension, c)), atoms.weights, {
      source: atoms.points,
      key: `coordinate ${c}`,
    });
  let sum = 0;
  for (let c = 0; c < dimension; c++) sum += w1SortedCircle(sorted(a, c), sorted(b, c));
  return sum / dimension;
}
