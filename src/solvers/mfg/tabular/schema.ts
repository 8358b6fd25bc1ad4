// The JSON of a user's own finite mean-field game ("tabular"). One family covers the catalogue games: the
// population enters through K linear statistics z_j(μ) = Σ_s φ_j(s)·μ(s) (default: z_s = μ(s)), and
//   r_t(s, a; μ) = R_t(s, a) + Σ_l C_l,t(s, a)·z_{j_l} + Σ_m D_m,t(s, a)·z_{j_m}·z_{k_m} + c_t(s, a)·log(μ(s) + ε)
//   P_t(s' | s, a; μ) = P⁰_t(s' | s, a) + Σ_l z_{j_l}·Q_l,t(s' | s, a)
//                     + Σ_i w_i(s, a)·1{s' = clip(o + round_half_even(b_i(s, a) + β_i(s, a)·z_j))}
// The last term moves agents on the line of states by a drift that depends on a statistic (the linear-
// quadratic game's mean reversion); it cannot be written as P⁰ + Σ zQ because rounding is not linear. The
// origin o is the state of position 0: ties round to the even *position*, and half-to-even rounding does not
// commute with an odd shift, so a game on −5..5 is only reproduced when positions are rounded, not indices.
// Shapes and laws are checked in checks.ts, which the schema cannot express.
import { type Static, type TSchema, Type } from '@sinclair/typebox';

export const MAX_STATES = 10_000;
export const MAX_ACTIONS = 1000;
export const MAX_FEATURES = 256;

const Coefficient = Type.Number({ minimum: -1e9, maximum: 1e9 });
const Index = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_STATES, description });

/** A tensor that is the same at every decision time, or `{by_time: [one per time]}`. */
function Timed<T extends TSchema>(tensor: T, description: string) {
  return Type.Union(
    [
      tensor,
      Type.Object(
        { by_time: Type.Array(tensor, { minItems: 1, maxItems: 1001 }) },
        { additionalProperties: false },
      ),
    ],
    {
      description: `${description} Either one tensor for every time, or {by_time: [...]} with one per time.`,
    },
  );
}

/** [S][A] numbers. */
const StateAction = Type.Array(Type.Array(Coefficient));
/** [S][A] lists of [next state, probability] pairs: sparse rows of a kernel. */
const Rows = Type.Array(Type.Array(Type.Array(Type.Tuple([Index('Next state s′.'), Coefficient]))));
/** [S][A] lists of [intercept b, slope β, weight w] drift outcomes. */
const DriftOutcomes = Type.Array(Type.Array(Type.Array(Type.Tuple([Coefficient, Coefficient, Coefficient]))));
const Feature = Type.Integer({
  minimum: 0,
  maximum: MAX_STATES,
  description: 'Index j of the statistic z_j.',
});

const RewardSchema = Type.Object(
  {
    constant: Type.Optional(Timed(StateAction, 'R_t(s, a), [S][A]; default 0.')),
    linear: Type.Optional(
      Type.Array(
        Type.Object(
          { feature: Feature, coefficient: Timed(StateAction, 'C_t(s, a), [S][A].') },
          { additionalProperties: false },
        ),
        { maxItems: MAX_FEATURES, description: 'Terms C(s, a)·z_j.' },
      ),
    ),
    quadratic: Type.Optional(
      Type.Array(
        Type.Object(
          {
            features: Type.Tuple([Feature, Feature]),
            coefficient: Timed(StateAction, 'D_t(s, a), [S][A].'),
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_FEATURES, description: 'Terms D(s, a)·z_j·z_k.' },
      ),
    ),
    log_density: Type.Optional(
      Timed(StateAction, 'c_t(s, a) in c·log(μ(s) + ε): crowd aversion when negative; [S][A].'),
    ),
    log_epsilon: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 1e-20,
      description: 'ε inside the logarithm (MFGLib uses 1e-20).',
    }),
  },
  { additionalProperties: false, description: 'r_t(s, a; μ); every term is optional.' },
);

const TransitionSchema = Type.Object(
  {
    base: Timed(Rows, 'P⁰_t(s′ | s, a) as sparse rows [S][A] of [s′, p] pairs.'),
    linear: Type.Optional(
      Type.Array(
        Type.Object(
          { feature: Feature, rows: Timed(Rows, 'Q_t(s′ | s, a) as sparse rows [S][A] of [s′, q] pairs.') },
          { additionalProperties: false },
        ),
        { maxItems: MAX_FEATURES, description: 'Terms z_j·Q(s′ | s, a); each row of Q must sum to 0.' },
      ),
    ),
    drift: Type.Optional(
      Type.Object(
        {
          feature: Feature,
          origin: Type.Integer({
            minimum: 0,
            maximum: MAX_STATES,
            default: 0,
            description: 'o: the state of position 0 (positions are states − o).',
          }),
          outcomes: Timed(
            DriftOutcomes,
            '[S][A] lists of [b, β, w]: weight w moves to position round_half_even(b + β·z_j).',
          ),
        },
        {
          additionalProperties: false,
          description:
            'Moves on the line of states: weight w goes to state clip(o + round_half_even(b + β·z_j), 0, S − 1).',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'P_t(s′ | s, a; μ). For every (s, a), the base and drift weights sum to 1 and every linear row sums to 0.',
  },
);

const sharedProperties = {
  name: Type.Literal('tabular'),
  states: Type.Integer({ minimum: 1, maximum: MAX_STATES, description: 'S.' }),
  actions: Type.Integer({ minimum: 1, maximum: MAX_ACTIONS, description: 'A.' }),
  initial: Type.Optional(
    Type.Array(Type.Number({ minimum: 0, maximum: 1 }), {
      maxItems: MAX_STATES,
      description: 'Initial state law μ_0, one entry per state, summing to 1; default uniform.',
    }),
  ),
  features: Type.Optional(
    Type.Array(Type.Array(Coefficient, { maxItems: MAX_STATES }), {
      minItems: 1,
      maxItems: MAX_FEATURES,
      description:
        'φ_j(s), [K][S]: the statistics z_j = Σ_s φ_j(s)·μ(s). Default: z_s = μ(s), one per state.',
    }),
  ),
  reward: RewardSchema,
  transition: TransitionSchema,
};

export const TabularFiniteSchema = Type.Object(
  {
    ...sharedProperties,
    horizon: Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: 'Last decision time T (T + 1 decisions).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Your own game: rewards and kernels as tables that may depend on the mean field (docs/mfg.md).',
  },
);

export const TabularStationarySchema = Type.Object(sharedProperties, {
  additionalProperties: false,
  description:
    'Your own stationary game: the tabular family without a horizon or by_time tensors (docs/mfg.md).',
});

export type TabularGameParams = Static<typeof TabularStationarySchema> & { horizon?: number };
export type StateActionTensor = Static<typeof StateAction>;
export type RowsTensor = Static<typeof Rows>;
export type DriftTensor = Static<typeof DriftOutcomes>;
export type TimedTensor<T> = T | { by_time: T[] };

/** Whether a tensor is given per time (`{by_time: [...]}`) rather than once for every time. */
export function isByTime<T>(tensor: TimedTensor<T>): tensor is { by_time: T[] } {
  return typeof tensor === 'object' && tensor !== null && 'by_time' in tensor;
}
