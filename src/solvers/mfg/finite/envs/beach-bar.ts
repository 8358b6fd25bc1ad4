// MFGLib's beach_bar (Perrin et al. 2020): n positions, a bar at bar_loc; agents step left, stay or right
// and are then pushed by noise (−1, 0, +1 w.p. (1−p)/2, p, (1−p)/2). Moves are clipped at the ends, as
// MFGLib does (its docstring says torus); the distance to the bar in the reward is on the torus, as there.
// Reward −distance − 1{moved}/n − log(μ_t(s) + 1e−20).
import { type Static, Type } from '@sinclair/typebox';
import { buildTransition, type FiniteGame, stateMarginal } from '../game.js';
import { EnvSchema, Horizon, Probability } from '../schema-parts.js';

export const BeachBarSchema = EnvSchema('beach_bar', 'Beach bar on a clipped line of positions, 3 actions.', {
  horizon: Horizon(2),
  positions: Type.Integer({ minimum: 2, maximum: 1000, default: 4 }),
  bar_location: Type.Integer({ minimum: 0, maximum: 999, default: 2, description: 'Below positions.' }),
  p_still: Probability('Probability that the noise does not move the agent.', 0.5),
});
export type BeachBarParams = Static<typeof BeachBarSchema>;

const LOG_EPSILON = 1e-20;

export function beachBar(params: BeachBarParams): FiniteGame {
  const n = params.positions ?? 4;
  const bar = params.bar_location ?? 2;
  const still = params.p_still ?? 0.5;
  const noise = [
    [-1, (1 - still) / 2],
    [0, still],
    [1, (1 - still) / 2],
  ] as const;
  const kernel = buildTransition(n, 3, (s, a, emit) => {
    for (const [epsilon, probability] of noise)
      emit(Math.min(Math.max(s + a - 1 + epsilon, 0), n - 1), probability);
  });
  const fixedPart = new Float64Array(n * 3);
  for (let s = 0; s < n; s++) {
    const distance = Math.min((((s - bar) % n) + n) % n, (((bar - s) % n) + n) % n);
    for (let a = 0; a < 3; a++) fixedPart[s * 3 + a] = -distance - (a === 1 ? 0 : 1) / n;
  }
  return {
    horizon: params.horizon ?? 2,
    states: n,
    actions: 3,
    initial: Float64Array.from(params.initial ?? new Array(n).fill(1 / n)),
    reward: (_t, law) => {
      const mu = stateMarginal(law, n, 3);
      const out = new Float64Array(n * 3);
      for (let s = 0; s < n; s++) {
        const crowding = -Math.log((mu[s] as number) + LOG_EPSILON);
        for (let a = 0; a < 3; a++) out[s * 3 + a] = (fixedPart[s * 3 + a] as number) + crowding;
      }
      return out;
    },
    transition: () => kernel,
  };
}
