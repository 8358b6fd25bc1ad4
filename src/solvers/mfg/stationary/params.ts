// mfg.pma params: a stationary game, its discount and entropy weight, the PMA step η, and a mode — `exact`
// (mirror-ascent steps with exact Q and stationary law) or `n_agent` (N independent agents on one sample
// path, TD-learned Q). Checks the schema cannot express throw 400 with the field path; limits keep a job
// to about a minute of CPU.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../../errors.js';
import { TaggedUnion } from '../../../lib/tagged-union.js';
import { envFieldErrors, initialLawErrors } from '../finite/params.js';
import { createStationaryGame, type StationaryEnvParams, StationaryEnvSchemas } from './envs.js';

/** Exact solves are O(S³): a stationary game may have at most this many states. */
export const MAX_STATES = 200;
/** iterations (or epochs) × S³: bounds the exact evaluations of a job. */
export const MAX_EVALUATION_WORK = 2e9;
/** agents × steps per epoch × epochs: about a minute at the measured ~4 million agent-steps/s. */
export const MAX_AGENT_STEPS = 2e8;
/** agents × S × A: the agents' policies, Q's and visit counts must fit in memory. */
export const MAX_AGENT_CELLS = 1e7;

const ModeSchemas = [
  Type.Object(
    {
      name: Type.Literal('exact'),
      iterations: Type.Integer({ minimum: 1, maximum: 100_000, default: 200 }),
      tolerance: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 1e-12,
        description: 'Stop once ‖π_{k+1} − π_k‖ (max over states of the L1 distance) ≤ tolerance.',
      }),
    },
    { additionalProperties: false, description: 'PMA with the exact Q and the exact stationary law.' },
  ),
  Type.Object(
    {
      name: Type.Literal('n_agent'),
      agents: Type.Integer({ minimum: 1, maximum: 100_000, default: 100, description: 'N.' }),
      epochs: Type.Integer({ minimum: 1, maximum: 10_000, default: 40, description: 'PMA steps K.' }),
      steps_per_epoch: Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: 2000,
        description: 'Simulated steps of the N-agent game (TD updates per agent) between PMA steps.',
      }),
      td_rate_scale: Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e6,
        default: 50,
        description: 'c in the TD step β_n = (1 + n/c)^−p at the n-th visit of (s, a) in an epoch.',
      }),
      td_rate_power: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.6, description: 'p in β_n.' }),
    },
    {
      additionalProperties: false,
      description: 'N independent agents on one sample path of the N-agent game, each learning its own Q.',
    },
  ),
];

export const MfgPmaParams = Type.Object(
  {
    env: TaggedUnion('name', StationaryEnvSchemas, {
      description: 'The stationary game and its parameters.',
    }),
    discount: Type.Number({ exclusiveMinimum: 0, maximum: 0.999, default: 0.9, description: 'γ.' }),
    lambda: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1000,
      default: 0.1,
      description: 'λ, the weight of the entropy regulariser.',
    }),
    eta: Type.Number({
      exclusiveMinimum: 0,
      maximum: 10_000,
      default: 1,
      description:
        'η, the PMA step size. Too large for the game and exact PMA diverges (the result shows it).',
    }),
    mode: TaggedUnion('name', ModeSchemas, { description: 'exact or n_agent.' }),
  },
  {
    additionalProperties: false,
    examples: [
      { env: { name: 'susceptible_infected' }, mode: { name: 'exact', iterations: 200 } },
      {
        env: { name: 'beach_bar', positions: 4, bar_location: 2 },
        mode: { name: 'n_agent', agents: 200, epochs: 40, steps_per_epoch: 2000 },
      },
    ],
  },
);
export type MfgPmaMode = Static<(typeof ModeSchemas)[number]>;
export type MfgPmaParams = Static<typeof MfgPmaParams> & { env: StationaryEnvParams; mode: MfgPmaMode };

const MODE = '/body/params/mode';

export function checkMfgPmaParams(params: MfgPmaParams): void {
  throwFieldErrors(envFieldErrors(params.env));
  const game = createStationaryGame(params.env, params.discount);
  const errors: FieldError[] = initialLawErrors(params.env.initial, game.states);
  const { states, actions } = game;
  const cube = states ** 3;
  const mode = params.mode;
  if (states > MAX_STATES) {
    errors.push({
      path: '/body/params/env',
      message: `the game has ${states} states; the limit is ${MAX_STATES}`,
    });
  } else if (mode.name === 'exact' && mode.iterations * cube > MAX_EVALUATION_WORK) {
    errors.push({
      path: `${MODE}/iterations`,
      message: `use at most ${Math.floor(MAX_EVALUATION_WORK / cube)} iterations with ${states} states`,
    });
  } else if (mode.name === 'n_agent') {
    if (mode.epochs * cube > MAX_EVALUATION_WORK) {
      errors.push({
        path: `${MODE}/epochs`,
        message: `use at most ${Math.floor(MAX_EVALUATION_WORK / cube)} epochs with ${states} states`,
      });
    }
    const agentSteps = mode.agents * mode.steps_per_epoch * mode.epochs;
    if (agentSteps > MAX_AGENT_STEPS) {
      errors.push({
        path: `${MODE}/steps_per_epoch`,
        message: `agents × steps_per_epoch × epochs = ${agentSteps} is over the limit of ${MAX_AGENT_STEPS}`,
      });
    }
    if (mode.agents * states * actions > MAX_AGENT_CELLS) {
      errors.push({
        path: `${MODE}/agents`,
        message: `agents × states × actions is over ${MAX_AGENT_CELLS}; use at most ${Math.floor(MAX_AGENT_CELLS / (states * actions))} agents`,
      });
    }
  }
  throwFieldErrors(errors);
}
