// The Policy Mirror Ascent step (Yardim, Cayci, Geist, He, ICML 2023; meanfield.md §2 rule 1): entropy-
// regularised mirror ascent with KL proximity,
//   π_{k+1}(·|s) = argmax_u η(⟨Q(s, ·), u⟩ + λh(u)) − KL(u ‖ π_k(·|s)),
// whose closed form is π_{k+1}(a|s) ∝ π_k(a|s)^{1/(1+ηλ)} · exp(ηQ(s, a)/(1+ηλ)). Computed in the log
// domain with the row maximum subtracted, so it neither underflows nor overflows.

export function pmaStep(
  policy: Float64Array,
  q: Float64Array,
  actions: number,
  eta: number,
  lambda: number,
  out: Float64Array = new Float64Array(policy.length),
): Float64Array {
  const shrink = 1 / (1 + eta * lambda);
  for (let row = 0; row < policy.length; row += actions) {
    let best = -Infinity;
    for (let a = 0; a < actions; a++) {
      const logit = (Math.log(policy[row + a] as number) + eta * (q[row + a] as number)) * shrink;
      out[row + a] = logit;
      best = Math.max(best, logit);
    }
    let sum = 0;
    for (let a = 0; a < actions; a++) {
      const weight = Math.exp((out[row + a] as number) - best);
      out[row + a] = weight;
      sum += weight;
    }
    for (let a = 0; a < actions; a++) out[row + a] = (out[row + a] as number) / sum;
  }
  return out;
}

/** max_s Σ_a |π(a|s) − π'(a|s)|: the distance the linear-rate check and the agent spread use. */
export function policyDistance(a: Float64Array, b: Float64Array, actions: number): number {
  let worst = 0;
  for (let row = 0; row < a.length; row += actions) {
    let sum = 0;
    for (let k = 0; k < actions; k++) sum += Math.abs((a[row + k] as number) - (b[row + k] as number));
    worst = Math.max(worst, sum);
  }
  return worst;
}
