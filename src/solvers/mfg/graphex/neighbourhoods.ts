// The neighbourhood compositions of a degree-k agent: the ways k neighbours fall into S states
// (𝔾^k of meanfield.md §3), with the multinomial law they have when the neighbours' states are i.i.d.
// from a field. Compositions are listed in lexicographic order of (c_1, …, c_{S−1}), c_0 = k − Σ the rest;
// `index` maps a count vector to its position through the key Σ_{s≥1} c_s·(k+1)^{s−1}.

export interface Compositions {
  degree: number;
  states: number;
  /** Number of compositions, C(k + S − 1, S − 1). */
  count: number;
  /** count × S neighbour counts. */
  counts: Int32Array;
  /** count × S neighbourhood laws (counts / k). */
  fractions: Float64Array;
  /** Key → position; length (k + 1)^(S − 1). */
  index: Int32Array;
  /** log of the multinomial coefficient k! / Π c_s!. */
  logCoefficients: Float64Array;
}

/** Number of compositions of `degree` into `states` parts. */
export function compositionCount(degree: number, states: number): number {
  let count = 1;
  for (let i = 1; i < states; i++) count = (count * (degree + i)) / i;
  return Math.round(count);
}

export function compositionKey(counts: ArrayLike<number>, degree: number): number {
  let key = 0;
  let stride = 1;
  for (let s = 1; s < counts.length; s++) {
    key += (counts[s] as number) * stride;
    stride *= degree + 1;
  }
  return key;
}

export function compositions(degree: number, states: number): Compositions {
  const count = compositionCount(degree, states);
  const counts = new Int32Array(count * states);
  const fractions = new Float64Array(count * states);
  const index = new Int32Array((degree + 1) ** (states - 1)).fill(-1);
  const logCoefficients = new Float64Array(count);
  const logFactorial = new Float64Array(degree + 1);
  for (let i = 2; i <= degree; i++) logFactorial[i] = (logFactorial[i - 1] as number) + Math.log(i);
  const current = new Int32Array(states);
  let position = 0;
  // Counts of states 1 … S−1, odometer-style; state 0 takes the rest when that is ≥ 0.
  const visit = (s: number, left: number) => {
    if (s === states) {
      current[0] = left;
      counts.set(current, position * states);
      let log = logFactorial[degree] as number;
      for (let r = 0; r < states; r++) {
        fractions[position * states + r] = degree > 0 ? (current[r] as number) / degree : 0;
        log -= logFactorial[current[r] as number] as number;
      }
      logCoefficients[position] = log;
      index[compositionKey(current, degree)] = position;
      position++;
      return;
    }
    for (let c = 0; c <= left; c++) {
      current[s] = c;
      visit(s + 1, left - c);
    }
  };
  visit(1, degree);
  return { degree, states, count, counts, fractions, index, logCoefficients };
}

/** P(composition) when each of the k neighbours is in state s with probability law[s], written to `out`. */
export function multinomialWeights(neighbourhood: Compositions, law: ArrayLike<number>, out: Float64Array) {
  const { count, states, counts, logCoefficients } = neighbourhood;
  // One exp per composition: exp(log coefficient + Σ c_s·log law_s); a state of law 0 that a composition
  // uses makes it impossible, one it does not use contributes nothing (0^0 = 1).
  const logLaw = new Float64Array(states);
  for (let s = 0; s < states; s++) logLaw[s] = Math.log(law[s] as number);
  for (let g = 0; g < count; g++) {
    let log = logCoefficients[g] as number;
    for (let s = 0; s < states; s++) {
      const c = counts[g * states + s] as number;
      if (c > 0) log += c * (logLaw[s] as number);
    }
    out[g] = log === -Infinity ? 0 : Math.exp(log);
  }
}
