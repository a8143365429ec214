// Measuring instead of guessing: how long does one training step take?
// Used by the notebooks' "what does sequential cost" plots and by `npm run bench`.
import { Rng } from "../random";
import { Trainer } from "./trainer";
import type { Trainable } from "./model";

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

export interface StepTimesOptions extends TimingOptions {
  /** Builds a fresh model for sentences of `length` tokens (e.g. maxLen: length); it is disposed after timing. */
  make: (length: number) => Trainable<{ ids: number[]; label: number }> & { dispose(): void };
  /** Sentence lengths to time, in tokens. */
  lengths: number[];
  /** Sentences per batch (default 32). */
  batchSize?: number;
  /** Token ids are drawn below this (default 2000; the model's vocabulary must be at least this big). */
  vocabSize?: number;
}

/**
 * Median milliseconds of one Trainer step (forward, backward, update) on a batch of random sentences, one per
 * length in `lengths`: how training cost grows with sentence length (an RNN's steps depend on each other, a
 * CNN's positions do not). Defaults: warmup 1, repeats 3. Each model and its Trainer are disposed.
 */
export function stepTimesByLength(o: StepTimesOptions): number[] {
  if (typeof o?.make !== "function") throw new Error("stepTimesByLength needs make: (length) => model, e.g. (length) => new CnnClassifier({ vocabSize: 2000, maxLen: length }).");
  if (!Array.isArray(o.lengths) || o.lengths.length === 0 || !o.lengths.every((l) => Number.isInteger(l) && l >= 1)) {
    throw new Error(`stepTimesByLength lengths (${JSON.stringify(o.lengths)}) must be a non-empty list of positive integers, e.g. [8, 16, 32].`);
  }
  const batchSize = o.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`stepTimesByLength batchSize (${batchSize}) must be a positive integer.`);
  return o.lengths.map((length) => {
    const model = o.make(length);
    const trainer = new Trainer(model, { progress: false, plot: false });
    try {
      const batch = randomLabelledIds({ count: batchSize, length, vocabSize: o.vocabSize ?? 2000 });
      return medianMs(() => trainer.trainBatch(batch), { warmup: o.warmup ?? 1, repeats: o.repeats ?? 3 });
    } finally {
      model.dispose();
      trainer.dispose();
    }
  });
}
