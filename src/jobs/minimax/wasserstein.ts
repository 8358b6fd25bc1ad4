// W1 between weighted point sets (particles with weight 1/N, grid measures with their cell weights at the
// cell centres), exactly in one dimension: W1 = ∫|F − G| on the line, and on the circle of length 2π
// W1 = min_α ∫|F − G − α| with α a weighted median of F − G (Rabin, Delon & Gousseau 2011). In two dimensions
// the exact transport between histograms is a large linear program, so the job reports the sliced W1 (the
// mean 1-D W1 of projections on 16 fixed directions, a lower bound of W1) on the box, and the mean of the two
// coordinate marginals' circle W1 on the torus (also a lower bound). Placing a grid measure at its cell
// centres moves mass by at most half a cell width, which bounds the error that adds.

export interface WeightedPoints {
  /** One coordinate per point (project first in 2-D). */
  positions: Float64Array;
  /** Probability weights summing to 1; undefined means 1/count each. */
  weights?: Float64Array;
}

/** Positions of both sets merged and sorted, with the signed weight (+ first set, − second) of each. */
function merged(a: WeightedPoints, b: WeightedPoints): { positions: Float64Array; signed: Float64Array } {
  const na = a.positions.length;
  const nb = b.positions.length;
  const positions = new Float64Array(na + nb);
  const unsorted = new Float64Array(na + nb);
  positions.set(a.positions, 0);
  positions.set(b.positions, na);
  for (let i = 0; i < na; i++) unsorted[i] = a.weights === undefined ? 1 / na : (a.weights[i] as number);
  for (let i = 0; i < nb; i++)
    unsorted[na + i] = -(b.weights === undefined ? 1 / nb : (b.weights[i] as number));
  const order = Array.from({ length: na + nb }, (_, i) => i).sort(
    (i, j) => (positions[i] as number) - (positions[j] as number),
  );
  return {
    positions: Float64Array.from(order, (i) => positions[i] as number),
    signed: Float64Array.from(order, (i) => unsorted[i] as number),
  };
}

export function w1Line(a: WeightedPoints, b: WeightedPoints): number {
  const { positions, signed } = merged(a, b);
  let difference = 0;
  let sum = 0;
  for (let i = 0; i + 1 < positions.length; i++) {
    difference += signed[i] as number;
    sum += Math.abs(difference) * ((positions[i + 1] as number) - (positions[i] as number));
  }
  return sum;
}

const TWO_PI = 2 * Math.PI;

export function w1Circle(a: WeightedPoints, b: WeightedPoints): number {
  const wrap = (p: Float64Array) => Float64Array.from(p, (x) => ((x % TWO_PI) + TWO_PI) % TWO_PI);
  const { positions, signed } = merged(
    { positions: wrap(a.positions), ...(a.weights ? { weights: a.weights } : {}) },
    { positions: wrap(b.positions), ...(b.weights ? { weights: b.weights } : {}) },
  );
  const count = positions.length;
  // D on each arc between consecutive points; the arc through 0 carries D = 0 (before the first point).
  const values = new Float64Array(count);
  const lengths = new Float64Array(count);
  let difference = 0;
  for (let i = 0; i < count; i++) {
    difference += signed[i] as number;
    const next = i + 1 < count ? (positions[i + 1] as number) : (positions[0] as number) + TWO_PI;
    values[i] = i + 1 < count ? difference : 0;
    lengths[i] = next - (positions[i] as number);
  }
  const order = Array.from({ length: count }, (_, i) => i).sort(
    (i, j) => (values[i] as number) - (values[j] as number),
  );
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
  for (let i = 0; i < count; i++) sum += (lengths[i] as number) * Math.abs((values[i] as number) - median);
  return sum;
}

/** Coordinate `c` of every point of a row-major count × dimension array. */
export function coordinate(
  points: Float64Array,
  dimension: number,
  c: number,
  count = points.length / dimension,
): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = points[i * dimension + c] as number;
  return out;
}

const SLICES = 16;

/** W1 in 1-D, sliced W1 (16 directions θ_s = sπ/16) in 2-D; points row-major count × dimension. */
export function w1Box(
  dimension: number,
  a: { points: Float64Array; weights?: Float64Array },
  b: { points: Float64Array; weights?: Float64Array },
): number {
  const withWeights = (positions: Float64Array, weights?: Float64Array): WeightedPoints =>
    weights === undefined ? { positions } : { positions, weights };
  if (dimension === 1) return w1Line(withWeights(a.points, a.weights), withWeights(b.points, b.weights));
  let sum = 0;
  for (let s = 0; s < SLICES; s++) {
    const angle = (s * Math.PI) / SLICES;
    const project = (points: Float64Array) => {
      const count = points.length / 2;
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++)
        out[i] =
          Math.cos(angle) * (points[2 * i] as number) + Math.sin(angle) * (points[2 * i + 1] as number);
      return out;
    };
    sum += w1Line(withWeights(project(a.points), a.weights), withWeights(project(b.points), b.weights));
  }
  return sum / SLICES;
}

/** Circle W1 in 1-D; the mean of the coordinate marginals' circle W1 on the 2-D torus. */
export function w1Torus(
  dimension: number,
  a: { points: Float64Array; weights?: Float64Array },
  b: { points: Float64Array; weights?: Float64Array },
): number {
  let sum = 0;
  for (let c = 0; c < dimension; c++) {
    const pa = coordinate(a.points, dimension, c);
    const pb = coordinate(b.points, dimension, c);
    sum += w1Circle(
      a.weights === undefined ? { positions: pa } : { positions: pa, weights: a.weights },
      b.weights === undefined ? { positions: pb } : { positions: pb, weights: b.weights },
    );
  }
  return sum / dimension;
}
