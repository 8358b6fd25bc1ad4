// Policy constructors shared by the algorithms. A policy is (T+1)·S rows of A probabilities.

export function uniformPolicy(rows: number, actions: number): Float64Array {
  return new Float64Array(rows * actions).fill(1 / actions);
}

/**
 * Greedy in Q. `uniform` splits exact ties evenly (MFGLib's Greedy_Policy); `first` takes the first
 * maximiser (OpenSpiel's GreedyPolicy, np.argmax).
 */
export function greedyPolicy(q: Float64Array, actions: number, ties: 'uniform' | 'first'): Float64Array {
  const out = new Float64Array(q.length);
  for (let row = 0; row < q.length; row += actions) {
    let best = -Infinity;
    for (let a = 0; a < actions; a++) best = Math.max(best, q[row + a] as number);
    if (ties === 'first') {
      for (let a = 0; a < actions; a++) {
        if (q[row + a] === best) {
          out[row + a] = 1;
          break;
        }
      }
      continue;
    }
    let count = 0;
    for (let a = 0; a < actions; a++) if (q[row + a] === best) count++;
    for (let a = 0; a < actions; a++) out[row + a] = q[row + a] === best ? 1 / count : 0;
  }
  return out;
}

/**
 * Row-wise prior(a)·exp(scale·q(a)) normalised, with the row maximum subtracted first so growing logits
 * (mirror descent sums Q's) never overflow. `prior` undefined means uniform.
 */
export function softmaxPolicy(
  q: Float64Array,
  actions: number,
  scale: number,
  prior?: Float64Array,
): Float64Array {
  const out = new Float64Array(q.length);
  for (let row = 0; row < q.length; row += actions) {
    let best = -Infinity;
    for (let a = 0; a < actions; a++) {
      if (prior === undefined || (prior[row + a] as number) > 0)
        best = Math.max(best, scale * (q[row + a] as number));
    }
    let sum = 0;
    for (let a = 0; a < actions; a++) {
      const weight = prior === undefined ? 1 : (prior[row + a] as number);
      const value = weight > 0 ? weight * Math.exp(scale * (q[row + a] as number) - best) : 0;
      out[row + a] = value;
      sum += value;
    }
    for (let a = 0; a < actions; a++) out[row + a] = (out[row + a] as number) / sum;
  }
  return out;
}
