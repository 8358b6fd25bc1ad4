// mfg.finite params: a game from the catalog, an algorithm, an iteration budget and an early-stopping
// tolerance (MFGLib's rule: stop once exploitability ≤ atol + rtol·exploitability(π_0)). Checks the schema
// cannot express throw 400 with the field path.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, throwFieldErrors } from '../../../errors.js';
import { TaggedUnion } from '../../../lib/tagged-union.js';
import type { StationaryEnvParams } from '../stationary/envs.js';
import { tabularFieldErrors, tabularTermCount } from '../tabular/checks.js';
import type { AlgorithmParams } from './algorithms.js';
import { createGame, ENV_SCHEMAS, type EnvParams } from './envs/index.js';

/** Iterations × (T + 1) × S × A: about 10 s of CPU at the measured cost per cell. */
export const MAX_WORK = 2e8;
const MAX_CELLS_PER_ITERATION = 5e6;

const Step = (description: string, fallback: number) =>
  Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: fallback, description });
const Temperature = Type.Optional(
  Type.Number({
    exclusiveMinimum: 0,
    maximum: 1e6,
    description: 'When given, the best response is softmax(Q*/temperature) instead of greedy.',
  }),
);

const AlgorithmSchemas = [
  Type.Object(
    { name: Type.Literal('online_mirror_descent'), step: Step('α in y ← y + α·Q^π.', 1) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: Type.Literal('fictitious_play'),
      alpha: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0,
        description: 'Mixing weight of the best response; 0 means 1/(k + 2) at iteration k.',
      }),
      temperature: Temperature,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: Type.Literal('prior_descent'),
      eta: Step('Temperature η in π ∝ q·exp(Q*/η).', 1),
      n_inner: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'Reset the prior q to π every n_inner steps.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: Type.Literal('fixed_point'), temperature: Temperature },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: Type.Literal('boltzmann_policy_iteration'), step: Step('lr in π ∝ exp(lr·Q^π).', 1) },
    { additionalProperties: false },
  ),
];

export const MfgFiniteParams = Type.Object(
  {
    env: TaggedUnion('name', ENV_SCHEMAS, { description: 'The game and its parameters.' }),
    algorithm: TaggedUnion('name', AlgorithmSchemas, { description: 'The policy update.' }),
    iterations: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
    atol: Type.Number({ minimum: 0, default: 0, description: 'Stop once exploitability ≤ atol + rtol·e_0.' }),
    rtol: Type.Number({ minimum: 0, default: 0 }),
  },
  {
    additionalProperties: false,
    examples: [
      { env: { name: 'left_right' }, algorithm: { name: 'online_mirror_descent', step: 1 }, iterations: 100 },
      {
        env: { name: 'crowd_modelling', openspiel_compat: true },
        algorithm: { name: 'fictitious_play' },
        iterations: 10,
      },
    ],
  },
);
export type MfgFiniteParams = Static<typeof MfgFiniteParams> & { env: EnvParams; algorithm: AlgorithmParams };

const ENV = '/body/params/env';

function checkLength(
  errors: FieldError[],
  values: unknown[] | undefined,
  length: number,
  field: string,
  what: string,
) {
  if (values !== undefined && values.length !== length) {
    errors.push({ path: `${ENV}/${field}`, message: `must have ${length} entries (${what})` });
  }
}

/** Checks of a game's params that the schema cannot express and that do not need the game built. */
export function envFieldErrors(env: EnvParams | StationaryEnvParams): FieldError[] {
  const errors: FieldError[] = [];
  if (env.name === 'beach_bar' && (env.bar_location ?? 2) >= (env.positions ?? 4)) {
    errors.push({ path: `${ENV}/bar_location`, message: 'must be below positions' });
  }
  if (env.name === 'tabular') return tabularFieldErrors(env, ENV);
  if (env.name === 'conservative_treasure_hunting') {
    checkLength(errors, env.rewards, env.sites ?? 3, 'rewards', 'one per site');
    checkLength(errors, env.costs, env.horizon ?? 5, 'costs', 'one per decision time below T, as MFGLib');
  }
  return errors;
}

/** A user-given initial law must have one entry per state of the built game and sum to 1. */
export function initialLawErrors(initial: number[] | undefined, states: number): FieldError[] {
  if (initial === undefined) return [];
  const total = initial.reduce((sum, p) => sum + p, 0);
  if (initial.length !== states)
    return [{ path: `${ENV}/initial`, message: `must have one entry per state (${states})` }];
  if (Math.abs(total - 1) > 1e-9)
    return [{ path: `${ENV}/initial`, message: `must sum to 1 (sums to ${total})` }];
  return [];
}

export function checkMfgFiniteParams(params: MfgFiniteParams): void {
  const env = params.env;
  throwFieldErrors(envFieldErrors(env));
  const game = createGame(env);
  const errors = initialLawErrors(env.initial, game.states);
  // A tabular game's reward and kernel terms are each a pass over the cells at every evaluation.
  const terms = env.name === 'tabular' ? 1 + tabularTermCount(env) : 1;
  const cells = (game.horizon + 1) * game.states * game.actions * terms;
  if (cells > MAX_CELLS_PER_ITERATION) {
    errors.push({
      path: ENV,
      message: `the game has ${cells} (t, s, a) cells; the limit is ${MAX_CELLS_PER_ITERATION}`,
    });
  } else if (cells * params.iterations > MAX_WORK) {
    errors.push({
      path: '/body/params/iterations',
      message: `${params.iterations} iterations × ${cells} cells is over the limit of ${MAX_WORK}; use at most ${Math.floor(MAX_WORK / cells)}`,
    });
  }
  throwFieldErrors(errors);
}
