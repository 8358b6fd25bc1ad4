// MFGLib's linear_quadratic (Perrin et al. 2020 §4.1): positions −el..el, moves −m..m, mean reversion k
// toward the population mean m_t, Gaussian noise σ·ε·√δ with ε ∈ σ·{−3..3}; positions are rounded half to
// even (torch.round; JS Math.round would move the uniform policy's exploitability by ~25 %, meanfield.md
// §7.1) and clipped. Reward [−a²/2 + q·a(m_t − x) − κ(m_t − x)²/2]·δ before T, −c_term(m_t − x)²/2 at T.
import { type Static, Type } from '@sinclair/typebox';
import { roundHalfEven } from '../../../../lib/round-half-even.js';
import { buildTransition, type FiniteGame, stateMarginal } from '../game.js';
import { EnvSchema, Horizon, Positive, Real } from '../schema-parts.js';

export const LinearQuadraticSchema = EnvSchema(
  'linear_quadratic',
  'Discretised linear-quadratic game on −el..el.',
  {
    horizon: Horizon(3),
    half_width: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'el: positions −el..el.' }),
    max_move: Type.Integer({ minimum: 1, maximum: 20, default: 2, description: 'm: moves −m..m.' }),
    sigma: Positive('Noise scale σ.', 3),
    delta: Positive('Time step δ.', 0.1),
    mean_reversion: Real('k: pull toward the population mean.', 1),
    q: Real('Cross term q.', 0.01),
    kappa: Real('κ: cost of distance to the mean.', 0.5),
    terminal_cost: Real('c_term at T.', 1),
  },
);
export type LinearQuadraticParams = Static<typeof LinearQuadraticSchema>;

export function linearQuadratic(params: LinearQuadraticParams): FiniteGame {
  const horizon = params.horizon ?? 3;
  const el = params.half_width ?? 5;
  const m = params.max_move ?? 2;
  const sigma = params.sigma ?? 3;
  const delta = params.delta ?? 0.1;
  const k = params.mean_reversion ?? 1;
  const q = params.q ?? 0.01;
  const kappa = params.kappa ?? 0.5;
  const terminalCost = params.terminal_cost ?? 1;
  const states = 2 * el + 1;
  const actions = 2 * m + 1;
  const noise: number[] = [];
  for (let j = -3; j <= 3; j++) noise.push(j * sigma);
  const density = noise.map((epsilon) => Math.exp(-0.5 * epsilon * epsilon) / Math.sqrt(2 * Math.PI));
  const total = density.reduce((sum, value) => sum + value, 0);
  const weights = density.map((value) => value / total);
  const populationMean = (law: Float64Array) => {
    const mu = stateMarginal(law, states, actions);
    let mean = 0;
    for (let s = 0; s < states; s++) mean += (s - el) * (mu[s] as number);
    return mean;
  };
  return {
    horizon,
    states,
    actions,
    initial: Float64Array.from(params.initial ?? new Array(states).fill(1 / states)),
    reward: (t, law) => {
      const mean = populationMean(law);
      const out = new Float64Array(states * actions);
      for (let s = 0; s < states; s++) {
        const gap = mean - (s - el);
        for (let a = 0; a < actions; a++) {
          const move = a - m;
          out[s * actions + a] =
            t === horizon
              ? -0.5 * terminalCost * gap ** 2
              : (-0.5 * move ** 2 + q * move * gap - 0.5 * kappa * gap ** 2) * delta;
        }
      }
      return out;
    },
    transition: (_t, law) => {
      const mean = populationMean(law);
      return buildTransition(states, actions, (s, a, emit) => {
        noise.forEach((epsilon, index) => {
          const target = s - el + (k * (mean - s + el) + a - m) * delta + sigma * epsilon * Math.sqrt(delta);
          const position = Math.min(Math.max(-el, roundHalfEven(target)), el);
          emit(position + el, weights[index] as number);
        });
      });
    },
  };
}
