// Three of MFGLib's games written by hand in the tabular family (src/solvers/mfg/tabular/schema.ts), from
// the games' definitions in radar-research-lab/MFGLib (mfglib/env/examples/*.py), not from our built-ins:
// if the family or its evaluation is wrong, these and the built-ins disagree.

type Rows = [number, number][][][];

/** beach_bar: −distance to the bar (torus) − 1{moved}/n as R, −log(μ(s) + 1e−20) as c·log, a clipped walk. */
export function beachBarTabular(horizon = 2, n = 4, bar = 2, still = 0.5) {
  const constant: number[][] = [];
  const base: Rows = [];
  for (let s = 0; s < n; s++) {
    const distance = Math.min((((s - bar) % n) + n) % n, (((bar - s) % n) + n) % n);
    constant.push([0, 1, 2].map((a) => -distance - (a === 1 ? 0 : 1) / n));
    base.push(
      [0, 1, 2].map((a) =>
        (
          [
            [-1, (1 - still) / 2],
            [0, still],
            [1, (1 - still) / 2],
          ] as const
        ).map(([noise, p]): [number, number] => [Math.min(Math.max(s + a - 1 + noise, 0), n - 1), p]),
      ),
    );
  }
  return {
    name: 'tabular' as const,
    horizon,
    states: n,
    actions: 3,
    reward: { constant, log_density: constant.map((row) => row.map(() => -1)) },
    transition: { base },
  };
}

/**
 * susceptible_infected: going out (a = 0) infects w.p. 0.81·μ(I). The statistic is μ(I) (features
 * [[0, 1]]); the base rows hold what does not depend on it, one linear term the infection.
 */
export function susceptibleInfectedTabular(horizon = 50, infection = 0.81, recovery = 0.3) {
  return {
    name: 'tabular' as const,
    horizon,
    states: 2,
    actions: 2,
    initial: [0.4, 0.6],
    features: [[0, 1]],
    reward: {
      constant: [
        [0, -0.5],
        [-1, -1.5],
      ],
    },
    transition: {
      base: [
        [[[0, 1]], [[0, 1]]],
        [
          [
            [0, recovery],
            [1, 1 - recovery],
          ],
          [
            [0, recovery],
            [1, 1 - recovery],
          ],
        ],
      ] as Rows,
      linear: [
        {
          feature: 0,
          rows: [
            [
              [
                [0, -infection],
                [1, infection],
              ],
              [],
            ],
            [[], []],
          ] as Rows,
        },
      ],
    },
  };
}

/**
 * linear_quadratic (Perrin et al. 2020 §4.1, MFGLib's discretisation): the statistic is the population
 * mean m = Σ x·μ(x). Before T the reward [−u²/2 + q·u(m − x) − κ(m − x)²/2]·δ expands into R + C·m + D·m²;
 * at T it is −c(m − x)²/2. Noise ε_j = σ·j, j = −3…3, weighted by the normalised standard normal density;
 * the next position round(x + (k(m − x) + u)δ + σε√δ) is a drift with b = x + (u − kx)δ + σε√δ, β = kδ,
 * and origin el (the state of position 0: ties go to the even position, as MFGLib's torch.round).
 */
export function linearQuadraticTabular(
  horizon = 3,
  el = 5,
  m = 2,
  sigma = 3,
  delta = 0.1,
  k = 1,
  q = 0.01,
  kappa = 0.5,
  terminalCost = 1,
) {
  const states = 2 * el + 1;
  const positions = Array.from({ length: states }, (_, s) => s - el);
  const moves = Array.from({ length: 2 * m + 1 }, (_, a) => a - m);
  const noise = [-3, -2, -1, 0, 1, 2, 3].map((j) => j * sigma);
  const density = noise.map((epsilon) => Math.exp(-0.5 * epsilon * epsilon));
  const total = density.reduce((sum, value) => sum + value, 0);
  const table = <T>(f: (x: number, u: number) => T) => positions.map((x) => moves.map((u) => f(x, u)));
  const byTime = (running: number[][], terminal: number[][]) => ({
    by_time: Array.from({ length: horizon + 1 }, (_, t) => (t === horizon ? terminal : running)),
  });
  return {
    name: 'tabular' as const,
    horizon,
    states,
    actions: moves.length,
    features: [positions],
    reward: {
      constant: byTime(
        table((x, u) => (-0.5 * u * u - q * u * x - 0.5 * kappa * x * x) * delta),
        table((x) => -0.5 * terminalCost * x * x),
      ),
      linear: [
        {
          feature: 0,
          coefficient: byTime(
            table((x, u) => (q * u + kappa * x) * delta),
            table((x) => terminalCost * x),
          ),
        },
      ],
      quadratic: [
        {
          features: [0, 0] as [number, number],
          coefficient: byTime(
            table(() => -0.5 * kappa * delta),
            table(() => -0.5 * terminalCost),
          ),
        },
      ],
    },
    transition: {
      base: positions.map(() => moves.map(() => [])) as Rows,
      drift: {
        feature: 0,
        origin: el,
        outcomes: table((x, u) =>
          noise.map((epsilon, j): [number, number, number] => [
            x + (u - k * x) * delta + sigma * epsilon * Math.sqrt(delta),
            k * delta,
            (density[j] as number) / total,
          ]),
        ),
      },
    },
  };
}
