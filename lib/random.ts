// Seeded randomness for the whole course: shuffling, dropout masks, weight initialisation, sampling.
//
// tfjs ops accept a numeric seed; we draw those seeds from one small JS generator so that a run is repeatable
// on one backend given one seed (different backends may still differ in the last float bits).

/** mulberry32: a tiny, fast, well-mixed 32-bit generator. Good enough for ML bookkeeping, not for crypto. */
export class Rng {
  private state: number;
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new Error(`seed (${seed}) must be a finite number, e.g. 0 or 42.`);
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A fresh seed for a tfjs op (tf.randomNormal(..., seed), dropout, multinomial). */
  seed(): number {
    return this.int(2 ** 31 - 1);
  }
  /** Fisher–Yates shuffle, in place; returns the array for chaining. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
  /** A new generator whose stream is independent of (but determined by) this one. */
  fork(): Rng {
    return new Rng(this.seed());
  }
}
