// MFGLib's building_evacuation (Perolat et al. 2021): floors × length × width tiles; moves right, left,
// up, down, downstairs (only from the tile (0, 0) of a floor) and upstairs (only from the far corner),
// clipped at walls; reward −η·log(μ_t(s) + 1e−20) + evac_r on floor index floors − 1. MFGLib puts the
// reward on its last floor index although its stairs go down toward index 0; we keep MFGLib's choice so
// numbers compare, and say so in docs/mfg.md.
import { type Static, Type } from '@sinclair/typebox';
import { buildTransition, type FiniteGame, stateMarginal } from '../game.js';
import { EnvSchema, Horizon, Real } from '../schema-parts.js';

export const BuildingEvacuationSchema = EnvSchema(
  'building_evacuation',
  'Multi-floor building evacuation: floors × length × width tiles, 6 actions.',
  {
    horizon: Horizon(3),
    floors: Type.Integer({ minimum: 1, maximum: 20, default: 5 }),
    length: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
    width: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
    eta: Real('Crowd aversion η.', 1),
    evacuation_reward: Real('Reward on floor index floors − 1.', 10),
  },
);
export type BuildingEvacuationParams = Static<typeof BuildingEvacuationSchema>;

const LOG_EPSILON = 1e-20;

export function buildingEvacuation(params: BuildingEvacuationParams): FiniteGame {
  const floors = params.floors ?? 5;
  const length = params.length ?? 10;
  const width = params.width ?? 10;
  const eta = params.eta ?? 1;
  const evacuation = params.evacuation_reward ?? 10;
  const states = floors * length * width;
  const index = (f: number, l: number, w: number) => (f * length + l) * width + w;
  const kernel = buildTransition(states, 6, (s, a, emit) => {
    const f = Math.floor(s / (length * width));
    const l = Math.floor(s / width) % length;
    const w = s % width;
    const atBottomStairs = l === 0 && w === 0;
    const atTopStairs = l === length - 1 && w === width - 1;
    const moves = [
      index(f, Math.min(l + 1, length - 1), w),
      index(f, Math.max(0, l - 1), w),
      index(f, l, Math.max(0, w - 1)),
      index(f, l, Math.min(w + 1, width - 1)),
      index(atBottomStairs ? Math.max(0, f - 1) : f, l, w),
      index(atTopStairs ? Math.min(f + 1, floors - 1) : f, l, w),
    ];
    emit(moves[a] as number, 1);
  });
  return {
    horizon: params.horizon ?? 3,
    states,
    actions: 6,
    initial: Float64Array.from(params.initial ?? new Array(states).fill(1 / states)),
    reward: (_t, law) => {
      const mu = stateMarginal(law, states, 6);
      const out = new Float64Array(states * 6);
      for (let s = 0; s < states; s++) {
        const value =
          -eta * Math.log((mu[s] as number) + LOG_EPSILON) +
          (Math.floor(s / (length * width)) === floors - 1 ? evacuation : 0);
        out.fill(value, s * 6, (s + 1) * 6);
      }
      return out;
    },
    transition: () => kernel,
  };
}
