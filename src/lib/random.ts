// A seeded random generator for everything that takes a `seed`: xoshiro128** (Blackman & Vigna) seeded
// through splitmix32, with Box–Muller normals. Pure 32-bit integer arithmetic (Math.imul, >>> 0), so the
// same seed gives the same numbers on every platform and Node version. Never Math.random in seeded code.
import { randomInt } from 'node:crypto';

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Random {
  private readonly s = new Uint32Array(4);
  private spareNormal: number | undefined;

  /** `seed` is an integer in [0, 2^32). */
  constructor(seed: number) {
    const next = splitmix32(seed);
    for (let i = 0; i < 4; i++) this.s[i] = next();
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1] as number, 5) >>> 0, 7), 9) >>> 0;
    const t = ((s[1] as number) << 9) >>> 0;
    s[2] = (s[2] as number) ^ (s[0] as number);
    s[3] = (s[3] as number) ^ (s[1] as number);
    s[1] = (s[1] as number) ^ (s[2] as number);
    s[0] = (s[0] as number) ^ (s[3] as number);
    s[2] = (s[2] as number) ^ t;
    s[3] = rotl(s[3] as number, 11);
    return result;
  }

  /** Uniform in (0, 1): 53 random bits, never exactly 0 (the logarithm below needs that). */
  nextUniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low + 0.5) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % n;
    }
  }

  /** Standard normal by Box–Muller; the second value of each pair is kept for the next call. */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(this.nextUniform()));
    const angle = 2 * Math.PI * this.nextUniform();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** `length` standard normals as float32. */
  normals(length: number): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = this.nextNormal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The seed of the `index`-th stream drawn from `seed` (one per completion choice or job item). */
export function deriveSeed(seed: number, index: number): number {
  return splitmix32((seed ^ Math.imul(index + 1, 0x2545f491)) >>> 0)();
}

/** The seed a caller gave, or a fresh one (0 … 2^32 − 2) to be returned with the result so it can be replayed. */
export function seedOrRandom(seed: number | undefined): number {
  return seed ?? randomInt(2 ** 32 - 1);
}
