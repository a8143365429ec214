// Measuring instead of guessing: how long does one training step take?
// Used by the notebooks' "what does sequential cost" plots and by `npm run bench`.
import { Rng } from "../random";

export interface TimingOptions {
  /** Untimed calls first (the first calls compile kernels and allocate). Default 2. */
  warmup?: number;
  /** Timed calls; the median is reported (robust to a stray slow call). Default 5. */
  repeats?: number;
}

/** Median wall time of `fn` in milliseconds. */
export function medianMs(fn: () => unknown, opts: TimingOptions = {}): number {
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? 5;
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`repeats (${repeats}) must be an integer >= 1.`);
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

/** Random token sequences of one length with random binary labels: inputs for timing, not for learning. */
export function randomLabelledIds(opts: { count: number; length: number; vocabSize: number; seed?: number; firstId?: number }): { ids: number[]; label: number }[] {
  const rng = new Rng(opts.seed ?? 0);
  const first = opts.firstId ?? 7; // skip the special tokens
  return Array.from({ length: opts.count }, () => ({
    ids: Array.from({ length: opts.length }, () => first + rng.int(opts.vocabSize - first)),
    label: rng.int(2),
  }));
}
