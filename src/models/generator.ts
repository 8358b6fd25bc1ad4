// Sampling the image generators: MeanFlow (Geng et al. 2025) and its flow-matching baseline, both served as
// a velocity network u(z, r, t, y) in a latent space plus a decoder to pixels.
//   MeanFlow, average velocity over [r, t] (Alg. 1 and the few-step sampler): z_r = z_t − (t − r)·u(z_t, r, t)
//     1 NFE: x = e − u(e, 0, 1);  2 NFE: t = 1 → ½ → 0.
//   Flow matching (r = t, instantaneous velocity), Euler on a uniform grid: z_{t−h} = z_t − h·u(z_t, t, t).
// Both integrate from noise at t = 1 to data at t = 0. Randomness is one seeded stream, drawn in a fixed
// order — the random classes (when none are given) first, then the noise row by row — so a seed fixes
// the output.
import { Random } from '../lib/random.js';
import { IMAGE_SIDE } from '../schemas/common.js';
import type { GeneratorSpec } from '../schemas/manifest.js';
import type { Tensor } from './tensor.js';

/** Runs one model by manifest name; the API backs it with the registry, a job process with its own sessions. */
export type RunModel = (
  name: string,
  inputs: Record<string, Tensor>,
  outputs: string[],
  rows: number,
) => Promise<Record<string, Tensor>>;

const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

export interface SamplePlan {
  /** One class per sample. */
  classes: number[];
  /** Latent noise, n × latent_dim. */
  noise: Float32Array;
}

/** Classes (drawn uniformly when not given) and noise for n samples, from the seed. */
export function planSamples(
  spec: GeneratorSpec,
  n: number,
  classes: number[] | undefined,
  seed: number,
): SamplePlan {
  const random = new Random(seed);
  const chosen = classes ?? Array.from({ length: n }, () => random.nextInt(spec.classes.length));
  return { classes: chosen, noise: random.normals(n * spec.latent_dim) };
}

/** The time grid from 1 to 0 with `steps` intervals. */
export function timeGrid(steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => 1 - i / steps);
}

/**
 * Integrates the plan's noise to latents with `steps` network evaluations and decodes them.
 * Returns intensities in [0, 1], n × 28 × 28, row-major.
 */
export async function generateImages(
  run: RunModel,
  velocityModel: string,
  spec: GeneratorSpec,
  plan: SamplePlan,
  steps: number,
): Promise<Float32Array> {
  const n = plan.classes.length;
  const dim = spec.latent_dim;
  let z = plan.noise.slice();
  const labels = new BigInt64Array(plan.classes.map((c) => BigInt(c)));
  const grid = timeGrid(steps);
  for (let step = 0; step < steps; step++) {
    const t = grid[step] as number;
    const next = grid[step + 1] as number;
    // MeanFlow conditions on the interval [r, t]; flow matching on the instant (r = t).
    const r = spec.kind === 'meanflow' ? next : t;
    const { u } = await run(
      velocityModel,
      {
        z: { datatype: 'FP32', shape: [n, dim], data: z },
        r: { datatype: 'FP32', shape: [n], data: new Float32Array(n).fill(r) },
        t: { datatype: 'FP32', shape: [n], data: new Float32Array(n).fill(t) },
        y: { datatype: 'INT64', shape: [n], data: labels },
      },
      ['u'],
      n,
    );
    const velocity = (u as Tensor).data as Float32Array;
    const h = t - next;
    const moved = new Float32Array(n * dim);
    for (let i = 0; i < moved.length; i++) moved[i] = (z[i] as number) - h * (velocity[i] as number);
    z = moved;
  }
  const { image } = await run(
    spec.decoder,
    { latent: { datatype: 'FP32', shape: [n, dim], data: z } },
    ['image'],
    n,
  );
  const pixels = (image as Tensor).data as Float32Array;
  if (pixels.length !== n * PIXELS)
    throw new Error(`decoder returned ${pixels.length} values for ${n} images`);
  // (tanh + 1) / 2 can land a rounding error outside [0, 1] (−6e-8 was seen); intensities are promised in [0, 1].
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(1, Math.max(0, pixels[i] as number));
  return pixels;
}
