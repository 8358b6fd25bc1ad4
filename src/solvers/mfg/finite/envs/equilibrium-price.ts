// MFGLib's equilibrium_price (Guo et al. 2022): firms hold raw-material inventory s ≤ s_inv, consume
// q ≤ Q and replenish h ≤ H (action index q·(H+1) + h); the price clears the market,
// p_t = (d / (Σ L_t·q + e0))^{1/σ}; reward (p − c0)q − c1q² − c2h − (c2 + c3)max(q − s, 0) − c4s.
import { type Static, Type } from '@sinclair/typebox';
import { buildTransition, type FiniteGame } from '../game.js';
import { EnvSchema, Horizon, Positive, Real } from '../schema-parts.js';

export const EquilibriumPriceSchema = EnvSchema(
  'equilibrium_price',
  'Firms with inventories under a market-clearing price; actions (q, h).',
  {
    horizon: Horizon(4),
    inventory: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
    max_consumption: Type.Integer({ minimum: 1, maximum: 20, default: 2 }),
    max_replenishment: Type.Integer({ minimum: 1, maximum: 20, default: 2 }),
    demand: Positive('d.', 1),
    e0: Positive('e0.', 1),
    sigma: Positive('Price elasticity σ.', 1),
    costs: Type.Array(Real('c_i.', 1), {
      minItems: 5,
      maxItems: 5,
      default: [1, 1, 1, 1, 1],
      description: 'c0 … c4.',
    }),
  },
);
export type EquilibriumPriceParams = Static<typeof EquilibriumPriceSchema>;

export function equilibriumPrice(params: EquilibriumPriceParams): FiniteGame {
  const inventory = params.inventory ?? 3;
  const maxQ = params.max_consumption ?? 2;
  const maxH = params.max_replenishment ?? 2;
  const demand = params.demand ?? 1;
  const e0 = params.e0 ?? 1;
  const sigma = params.sigma ?? 1;
  const [c0, c1, c2, c3, c4] = (params.costs ?? [1, 1, 1, 1, 1]) as [number, number, number, number, number];
  const states = inventory + 1;
  const actions = (maxQ + 1) * (maxH + 1);
  const consumption = (a: number) => Math.floor(a / (maxH + 1));
  const replenishment = (a: number) => a % (maxH + 1);
  const kernel = buildTransition(states, actions, (s, a, emit) => {
    const q = consumption(a);
    emit(Math.min(s - Math.min(q, s) + replenishment(a), inventory), 1);
  });
  return {
    horizon: params.horizon ?? 4,
    states,
    actions,
    initial: Float64Array.from(params.initial ?? new Array(states).fill(1 / states)),
    reward: (_t, law) => {
      let supply = 0;
      for (let s = 0; s < states; s++) {
        for (let a = 0; a < actions; a++) supply += (law[s * actions + a] as number) * consumption(a);
      }
      const price = (demand / (supply + e0)) ** (1 / sigma);
      const out = new Float64Array(states * actions);
      for (let s = 0; s < states; s++) {
        for (let a = 0; a < actions; a++) {
          const q = consumption(a);
          const h = replenishment(a);
          out[s * actions + a] =
            (price - c0) * q - c1 * q ** 2 - c2 * h - (c2 + c3) * Math.max(q - s, 0) - c4 * s;
        }
      }
      return out;
    },
    transition: () => kernel,
  };
}
