// MFGLib's rock_paper_scissors (Shapley's generalised non-zero-sum variant, via Cui & Koeppl 2021): from
// the start state each agent picks R, P or S and is paid for the share it beats minus the share beating it.
import type { Static } from '@sinclair/typebox';
import { buildTransition, type FiniteGame, perState, stateMarginal } from '../game.js';
import { EnvSchema, Horizon } from '../schema-parts.js';

export const RockPaperScissorsSchema = EnvSchema(
  'rock_paper_scissors',
  'Generalised rock-paper-scissors: 4 states, 3 actions.',
  { horizon: Horizon(1) },
);
export type RockPaperScissorsParams = Static<typeof RockPaperScissorsSchema>;

export function rockPaperScissors(params: RockPaperScissorsParams): FiniteGame {
  const kernel = buildTransition(4, 3, (_s, a, emit) => emit(1 + a, 1));
  return {
    horizon: params.horizon ?? 1,
    states: 4,
    actions: 3,
    initial: Float64Array.from(params.initial ?? [1, 0, 0, 0]),
    reward: (_t, law) => {
      const [, rock, paper, scissors] = stateMarginal(law, 4, 3) as unknown as number[];
      return perState(
        Float64Array.of(
          0,
          2 * (scissors as number) - (paper as number),
          4 * (rock as number) - 2 * (scissors as number),
          6 * (paper as number) - 3 * (rock as number),
        ),
        3,
      );
    },
    transition: () => kernel,
  };
}
