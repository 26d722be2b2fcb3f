/**
 * A small seeded random generator whose whole state is four 32-bit words (xoshiro128**, seeded by
 * splitmix32), so a reservoir can be written to JSON and resumed or merged on another instance.
 */

/** The generator's state: four unsigned 32-bit integers, not all zero. */
export type RandomStateJson = readonly [number, number, number, number];

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Seeded uniform random numbers with a serialisable state; why: reservoirs must be reproducible and portable. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: RandomStateJson) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator seeded from any integer (splitmix32 spreads it over the four words). */
  static fromSeed(seed: number): Random {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    return new Random([next(), next(), next(), next()]);
  }

  /** A generator resumed from a state written by toJSON(). */
  static fromJSON(state: RandomStateJson): Random {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new TypeError('a random state is four unsigned 32-bit integers');
    }
    return new Random(state);
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias for n ≤ 2³². */
  below(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`below(n) needs a positive integer, got ${n}`);
    if (n <= 0x100000000) {
      const limit = Math.floor(0x100000000 / n) * n;
      for (;;) {
        const x = this.nextUint32();
        if (x < limit) return x % n;
      }
    }
    return Math.floor(this.nextDouble() * n);
  }

  /** The state, to resume this exact sequence elsewhere. */
  toJSON(): RandomStateJson {
    return [this.s0, this.s1, this.s2, this.s3];
  }
}
