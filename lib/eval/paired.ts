// Is system A better than system B on the same examples, beyond the noise? A paired comparison: the difference
// per example (A's score − B's: 1/0 for exact match, log-probabilities for search quality), its mean, and the
// standard error of that mean, sd / √n. A claim "A > B" holds when the mean difference exceeds twice its
// standard error (about a 95% one-sided margin), is reversed below minus twice, and is undecided in between.
// Pairing removes the examples' own difficulty from the noise, so it decides with far fewer examples than
// comparing two independent accuracies would. The verdict is the one rule of lib/eval/verdict.ts (verdictOf).
import { Verdict, verdictOf } from "./verdict";

export type { Verdict };

export interface PairedComparison {
  /** Mean of a[i] − b[i]. */
  difference: number;
  /** Standard error of that mean (0 when n = 1). */
  standardError: number;
  n: number;
  verdict: Verdict;
}

/** Compare paired scores (a[i] and b[i] from the same example i); see the top of this file. */
export function pairedComparison(a: readonly number[], b: readonly number[]): PairedComparison {
  if (a.length !== b.length) throw new Error(`pairedComparison needs one score of each system per example: got ${a.length} and ${b.length}.`);
  if (a.length === 0) throw new Error("pairedComparison got no examples.");
  const d = a.map((x, i) => x - b[i]);
  if (!d.every(Number.isFinite)) throw new Error("pairedComparison: a score is not a finite number.");
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const variance = n > 1 ? d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  const standardError = Math.sqrt(variance / n);
  return { difference: mean, standardError, n, verdict: verdictOf(mean, standardError) };
}
