// The mfg.graphex game catalog: each game's params schema and constructor, by name.
import type { GraphGame } from '../game.js';
import { SirSchema, SisSchema, sir, sis } from './epidemics.js';
import { RumorSchema, rumor } from './rumor.js';

export const GRAPH_GAME_SCHEMAS = [SisSchema, SirSchema, RumorSchema];

export type GraphGameParams =
  | Parameters<typeof sis>[0]
  | Parameters<typeof sir>[0]
  | Parameters<typeof rumor>[0];

export function createGraphGame(params: GraphGameParams): GraphGame {
  switch (params.name) {
    case 'sis':
      return sis(params);
    case 'sir':
      return sir(params);
    case 'rumor':
      return rumor(params);
  }
}
