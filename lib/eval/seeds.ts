// Noise in a comparison of training runs: the same recipe with different seeds gives different scores, so a
// difference between two recipes means something only against that spread (and against the test set's own
// sampling noise: with n examples an accuracy p is known to about ±sqrt(p(1−p)/n)).

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

export type Verdict = "holds" | "within noise" | "fails";

export interface Comparison {
  /** a.mean − b.mean */
  difference: number;
  /** Two standard errors of the difference (at least two of the test set's own). */
  noise: number;
  /** Whether "a ≥ b" holds: a ahead by more than the noise ("holds"), behind by more ("fails"), or neither. */
  verdict: Verdict;
}

/**
 * Is recipe a at least as good as recipe b? The noise is twice the standard error of the difference of the two
 * seed means, sqrt(std_a²/n_a + std_b²/n_b), but never below twice the test set's binomial standard error
 * (testSize examples): with two or three seeds the spread of the seeds alone can look deceptively small.
 */
export function compareRuns(a: SeedSummary, b: SeedSummary, opts: { testSize: number }): Comparison {
  const difference = a.mean - b.mean;
  const seedSe = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n);
  const testSe = accuracyStdErr(Math.min(1, Math.max(0, (a.mean + b.mean) / 2)), opts.testSize);
  const noise = 2 * Math.max(seedSe, testSe);
  const verdict: Verdict = difference > noise ? "holds" : difference < -noise ? "fails" : "within noise";
  return { difference, noise, verdict };
}

