// MFGLib's conservative_treasure_hunting (Guo et al. 2022): n treasure sites; at t = 0 each agent walks
// to the site it picks; later it digs where it stands (a = s) for r_s·(1 − d_s/2), where
// d_s = ‖L_t − e_(s,s)‖²_F measures how far the crowd is from all digging at s, and the harder the crowd
// deviates the more it is scattered: P(s' | s, a) = c_{t−1}d_s/(1 + n c_{t−1}d_s) + 1{s' = a}/(1 + n c_{t−1}d_s).
import { type Static, Type } from '@sinclair/typebox';
import { buildTransition, type FiniteGame } from '../game.js';
import { EnvSchema, Horizon, Real } from '../schema-parts.js';

export const ConservativeTreasureHuntingSchema = EnvSchema(
  'conservative_treasure_hunting',
  'Conservative treasure hunting: n sites, the crowd scatters when it deviates.',
  {
    horizon: Horizon(5, 100),
    sites: Type.Integer({ minimum: 1, maximum: 50, default: 3 }),
    rewards: Type.Optional(
      Type.Array(Real('Treasure at a site.', 1), {
        minItems: 1,
        maxItems: 50,
        description: 'One per site; default all 1.',
      }),
    ),
    costs: Type.Optional(
      Type.Array(Real('Scatter coefficient c_t.', 1), {
        minItems: 1,
        maxItems: 100,
        description: 'One per decision time up to T − 1 (length T, as MFGLib); default all 1.',
      }),
    ),
  },
);
export type ConservativeTreasureHuntingParams = Static<typeof ConservativeTreasureHuntingSchema>;

function distanceToDigging(law: Float64Array, n: number, s: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) sum += ((law[i * n + j] as number) - (i === s && j === s ? 1 : 0)) ** 2;
  }
  return sum;
}

export function conservativeTreasureHunting(params: ConservativeTreasureHuntingParams): FiniteGame {
  const horizon = params.horizon ?? 5;
  const n = params.sites ?? 3;
  const siteRewards = params.rewards ?? new Array(n).fill(1);
  const costs = params.costs ?? new Array(horizon).fill(1);
  const walk = buildTransition(n, n, (_s, a, emit) => emit(a, 1));
  return {
    horizon,
    states: n,
    actions: n,
    initial: Float64Array.from(params.initial ?? new Array(n).fill(1 / n)),
    reward: (t, law) => {
      const out = new Float64Array(n * n);
      if (t === 0) return out;
      for (let s = 0; s < n; s++) {
        out[s * n + s] = (siteRewards[s] as number) * (1 - distanceToDigging(law, n, s) / 2);
      }
      return out;
    },
    transition: (t, law) => {
      if (t === 0) return walk;
      const c = costs[t - 1] as number;
      const distances = Array.from({ length: n }, (_, s) => distanceToDigging(law, n, s));
      return buildTransition(n, n, (s, a, emit) => {
        const d = distances[s] as number;
        for (let target = 0; target < n; target++) emit(target, (c * d) / (1 + n * c * d));
        emit(a, 1 / (1 + n * c * d));
      });
    },
  };
}
