// MFGLib's left_right (Cui & Koeppl 2021): from the centre everyone goes left or right at once and pays
// the share that chose the same side, twice as much on the right. NE: P(left) = 2/3.
import type { Static } from '@sinclair/typebox';
import { buildTransition, type FiniteGame, perState, stateMarginal } from '../game.js';
import { EnvSchema } from '../schema-parts.js';

export const LeftRightSchema = EnvSchema(
  'left_right',
  'Cui & Koeppl left-right: 3 states, 2 actions, T = 1.',
  {},
);
export type LeftRightParams = Static<typeof LeftRightSchema>;

export function leftRight(params: LeftRightParams): FiniteGame {
  const kernel = buildTransition(3, 2, (_s, a, emit) => emit(1 + a, 1));
  return {
    horizon: 1,
    states: 3,
    actions: 2,
    initial: Float64Array.from(params.initial ?? [1, 0, 0]),
    reward: (_t, law) => {
      const mu = stateMarginal(law, 3, 2);
      return perState(Float64Array.of(0, -(mu[1] as number), -(2 * (mu[2] as number))), 2);
    },
    transition: () => kernel,
  };
}
