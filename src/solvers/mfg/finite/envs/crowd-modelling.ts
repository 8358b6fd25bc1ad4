// OpenSpiel's crowd_modelling (Perrin et al. 2020 §4.2; open_spiel/python/mfg/games/crowd_modelling.py):
// a ring of `size` positions, moves −1/0/+1 then uniform noise −1/0/+1, decision nodes t = 0..horizon−1,
// reward 1 − |x − size//2|/(size//2) − |move(a_{t−1})|/size − log(μ_t(x) + 1e−25) at each decision node.
//
// In MFGLib's convention (T = horizon − 1) the cost of the previous move is charged when the move is made,
// and the last move (never charged by OpenSpiel) costs nothing: every path's return is unchanged, so this
// clean model is OpenSpiel's game with the last action in the state (uniform NashConv 2.7866824162983335,
// meanfield.md §6.1). `openspiel_compat` instead reproduces OpenSpiel's published numbers: its value
// recursion caches decision nodes under "(x, t)", which omits the last action, so each node carries the move
// cost of whichever path reached it first in depth-first order (actions 0, 1, 2, then noise 0, 1, 2, every
// branch visited). `firstVisitLastActions` replays that traversal.
import { type Static, Type } from '@sinclair/typebox';
import { buildTransition, type FiniteGame, stateMarginal } from '../game.js';
import { EnvSchema } from '../schema-parts.js';

export const CrowdModellingSchema = EnvSchema('crowd_modelling', 'OpenSpiel crowd modelling on a ring.', {
  size: Type.Integer({ minimum: 2, maximum: 1000, default: 10 }),
  horizon: Type.Integer({
    minimum: 2,
    maximum: 1000,
    default: 10,
    description: 'OpenSpiel horizon: decisions at t = 0 … horizon − 1.',
  }),
  openspiel_compat: Type.Boolean({
    default: false,
    description: 'Reproduce OpenSpiel (first-visit move costs, first-argmax ties).',
  }),
});
export type CrowdModellingParams = Static<typeof CrowdModellingSchema>;

const MOVES = [-1, 0, 1] as const;
const NEUTRAL = 1;
const LOG_EPSILON = 1e-25;

/** la[t][x]: the last action on the first depth-first path that reaches decision node (x, t). */
export function firstVisitLastActions(size: number, horizon: number): number[][] {
  const table = Array.from({ length: horizon }, () => new Array<number>(size).fill(-1));
  const visit = (x: number, t: number, lastAction: number): void => {
    if (t >= horizon) return;
    const row = table[t] as number[];
    if (row[x] !== -1) return;
    row[x] = lastAction;
    for (let action = 0; action < 3; action++) {
      const moved = x + (MOVES[action] as number);
      for (const noise of MOVES) visit((((moved + noise) % size) + size) % size, t + 1, action);
    }
  };
  for (let x = 0; x < size; x++) visit(x, 0, NEUTRAL);
  return table;
}

export function crowdModelling(params: CrowdModellingParams): FiniteGame {
  const size = params.size ?? 10;
  const decisions = params.horizon ?? 10;
  const horizon = decisions - 1;
  const centre = Math.floor(size / 2);
  const firstVisit = params.openspiel_compat === true ? firstVisitLastActions(size, decisions) : undefined;
  const kernel = buildTransition(size, 3, (x, a, emit) => {
    for (const noise of MOVES) emit((((x + (MOVES[a] as number) + noise) % size) + size) % size, 1 / 3);
  });
  return {
    horizon,
    states: size,
    actions: 3,
    initial: Float64Array.from(params.initial ?? new Array(size).fill(1 / size)),
    reward: (t, law) => {
      const mu = stateMarginal(law, size, 3);
      const out = new Float64Array(size * 3);
      for (let x = 0; x < size; x++) {
        const place = 1 - Math.abs(x - centre) / centre;
        const crowding = -Math.log((mu[x] as number) + LOG_EPSILON);
        for (let a = 0; a < 3; a++) {
          const charged =
            firstVisit !== undefined ? ((firstVisit[t] as number[])[x] as number) : t < horizon ? a : NEUTRAL;
          out[x * 3 + a] = place + -Math.abs(MOVES[charged] as number) / size + crowding;
        }
      }
      return out;
    },
    transition: () => kernel,
  };
}
