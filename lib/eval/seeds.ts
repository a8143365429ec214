// Noise in a comparison of training runs: the same recipe with different seeds gives different scores, so a
// difference between two recipes means something only against that spread (and against the test set's own
// sampling noise: with n examples an accuracy p is known to about ±sqrt(p(1−p)/n)). The verdict is the one rule
// of lib/eval/verdict.ts (verdictOf).
import { Verdict, verdictOf } from "./verdict";

export type { Verdict };

export interface SeedSummary {
  /** Mean over seeds. */
  mean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  std: number;
  n: number;
}

/** Mean and sample standard deviation of one score per seed. */
export function summariseSeeds(values: number[]): SeedSummary {
  if (!values.length || values.some((v) => !Number.isFinite(v))) throw new Error(`summariseSeeds needs finite scores, one per seed; got [${values.join(", ")}].`);
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Standard error of an accuracy p measured on n examples (binomial): the test set's own noise. */
export function accuracyStdErr(p: number, n: number): number {
  if (!(p >= 0 && p <= 1) || !(Number.isInteger(n) && n > 0)) throw new Error(`accuracyStdErr needs 0 <= p <= 1 and a positive integer n; got p=${p}, n=${n}.`);
  return Math.sqrt((p * (1 - p)) / n);
}

export interface Comparison {
  /** a.mean − b.mean */
  difference: number;
  /** Standard error of the difference (see compareRuns). */
  noise: number;
  /** On "a > b": a ahead by more than 2·noise ("holds"), behind by more ("reversed"), or neither. */
  verdict: Verdict;
}

/**
 * Is recipe a better than recipe b, given the noise? The standard error of the gap between two seed means, each
 * scored on the same testSize examples, is
 *   se² = std_a²/n_a + std_b²/n_b + p_a(1−p_a)/testSize + p_b(1−p_b)/testSize
 * (the seeds' spread, plus the test set's binomial noise, which more seeds do not shrink); the verdict needs the
 * gap to pass 2·se: verdictOf, the rule of the ELECTRA lecture's claims table.
 */
export function compareRuns(a: SeedSummary, b: SeedSummary, opts: { testSize: number }): Comparison {
  const n = opts.testSize;
  for (const [k, v] of [["a", a], ["b", b]] as const) {
    if (!(v.mean >= 0 && v.mean <= 1)) throw new Error(`compareRuns: ${k}.mean (${v.mean}) must be an accuracy in [0, 1].`);
  }
  const binomial = (p: number) => (p * (1 - p)) / n;
  accuracyStdErr(a.mean, n); // validates testSize
  const noise = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n + binomial(a.mean) + binomial(b.mean));
  const difference = a.mean - b.mean;
  return { difference, noise, verdict: verdictOf(difference, noise) };
}
