// The one rule that turns a measured gap and its noise into a verdict, shared by every comparison in lib/eval
// (claims against a paper, paired per-example comparisons, seed-averaged runs). Its own file so that each of
// those can use it without importing the others.
//
// Verdict, with factor f (default 2, about a 95% one-sided margin):
//   "holds"         the gap has the claimed sign and exceeds f·se
//   "reversed"      the opposite ordering is measured just as clearly (gap < −f·se)
//   "within noise"  this run cannot tell; read the sign, do not trust it

export type Verdict = "holds" | "reversed" | "within noise";
export const VERDICTS: readonly Verdict[] = ["holds", "reversed", "within noise"];

/** The verdict on a gap with standard error se: "holds" beyond factor·se, "reversed" below −factor·se. */
export function verdictOf(gap: number, se: number, factor = 2): Verdict {
  if (!Number.isFinite(gap) || !(se >= 0)) throw new Error(`verdictOf needs a finite gap and a non-negative standard error, got ${gap} and ${se}.`);
  if (!(factor > 0)) throw new Error(`factor (${factor}) must be positive, e.g. 2.`);
  return gap > factor * se ? "holds" : gap < -factor * se ? "reversed" : "within noise";
}
