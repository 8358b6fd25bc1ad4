// Gibbs measures and log-partition functions on the grid, shared by the ground-truth solver and the NI error:
// the regularised best response to a potential V at temperature T is ∝ ρ·exp(sign·V/T). Everything is
// computed with the largest exponent subtracted first, so small temperatures do not overflow.

/** out ∝ ρ_i exp(sign·V_i/T), normalised. Returns T·log Σ_i ρ_i exp(sign·V_i/T). */
export function gibbs(
  reference: Float64Array,
  potential: Float64Array,
  sign: 1 | -1,
  temperature: number,
  out: Float64Array,
): number {
  let largest = -Infinity;
  for (let i = 0; i < potential.length; i++) {
    const exponent = (sign * (potential[i] as number)) / temperature;
    if ((reference[i] as number) > 0 && exponent > largest) largest = exponent;
  }
  let total = 0;
  for (let i = 0; i < potential.length; i++) {
    const w = (reference[i] as number) * Math.exp((sign * (potential[i] as number)) / temperature - largest);
    out[i] = w;
    total += w;
  }
  for (let i = 0; i < potential.length; i++) out[i] = (out[i] as number) / total;
  return temperature * (largest + Math.log(total));
}

/** KL(p | q) = Σ p log(p/q) over cells, with 0 log 0 = 0. */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] as number;
    if (pi > 0) sum += pi * Math.log(pi / (q[i] as number));
  }
  return sum;
}

/** Σ |p − q|. */
export function l1Distance(p: Float64Array, q: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += Math.abs((p[i] as number) - (q[i] as number));
  return sum;
}
