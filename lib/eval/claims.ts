// A paper's claims, checked on a small run: for each claimed ordering "A > B", the gap the paper reports, the gap
// we measured, the noise of our gap, and a verdict. Shared by the lectures that re-run a paper's tables at course
// scale (04 ELECTRA, 06 T5/BART).
//
//   const results = checkClaims([
//     { claim: "ELECTRA > BERT", paper: 2.8, a: scores.electra, b: scores.bert },      // one score per seed
//     { claim: "span infilling > token masking", paper: 0.6, perExample: { a: exact.span, b: exact.token } },
//     { claim: "A > B", paper: 1.2, difference: 0.021, standardError: 0.008 },         // computed elsewhere
//   ], { testSize: 872, scale: 100 });
//   showClaims(results);                     // lib/viz/claims.ts: the table, verdicts coloured
//   summarizeVerdicts(results)               // "2 of 7 orderings hold clearly, ..."
//
// The noise of a gap between two recipes, each scored on the same test set with k seeds:
//   se² = sd_a²/k_a + sd_b²/k_b                        (seed-to-seed spread of the two means)
//       + p_a(1−p_a)/n + p_b(1−p_b)/n                  (the test set's own sampling noise, n examples, for
//                                                        accuracy-like scores in [0, 1]; omit testSize otherwise)
// The binomial part does not shrink with more seeds (every seed is scored on the same n examples), so with a
// few seeds it dominates: on 872 sentences an accuracy near 0.7 is known to ±1.6 points and a gap to ±2.2.
// This ignores that both recipes see the same examples. With one score per example for each side (1/0 exact
// match, e.g. `exactMatchScores(evaluation)` of lib/eval/seq2seq_eval.ts), give `perExample` instead: the
// paired comparison of lib/eval/paired.ts, whose noise leaves out the examples' own difficulty, so it is tighter.
//
// The verdict is lib/eval/verdict.ts's rule: "holds" beyond factor · se (default 2), "reversed" below −factor · se,
// else "within noise".
import { pairedComparison } from "./paired";
import { Verdict, VERDICTS, verdictOf } from "./verdict";

export { VERDICTS, verdictOf };
export type { Verdict };

/**
 * One claimed ordering "a > b": per-seed scores of both sides (`a`, `b`), per-example scores of both sides on the
 * same examples (`perExample`, a paired comparison), or a precomputed difference and its standard error.
 */
export type ClaimSpec = {
  claim: string;
  /** The paper's gap (in its own unit) or a note such as "(not in the paper)". */
  paper?: number | string;
} & ({ a: number[]; b: number[] } | { perExample: { a: readonly number[]; b: readonly number[] } } | { difference: number; standardError: number });

export interface ClaimOptions {
  /** Test-set size for the binomial term (scores must then be proportions in [0, 1]); omit for other scores. */
  testSize?: number;
  /** A gap must exceed factor × its standard error (default 2). */
  factor?: number;
  /** Multiply gaps and noise for display (default 1; 100 shows accuracies in points). */
  scale?: number;
}

export interface ClaimResult {
  claim: string;
  paper: number | string;
  /** Our gap mean(a) − mean(b), × scale. */
  ours: number;
  /** Standard error of our gap, × scale. */
  noise: number;
  verdict: Verdict;
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Sample standard deviation (0 for a single value). */
export function sampleSd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function checkScores(what: string, xs: number[], testSize?: number): void {
  if (!Array.isArray(xs) || xs.length === 0 || !xs.every(Number.isFinite)) {
    throw new Error(`${what} must be a non-empty array of finite scores (one per seed), got [${xs}].`);
  }
  if (testSize !== undefined && !xs.every((x) => x >= 0 && x <= 1)) {
    throw new Error(`${what} [${xs}] must be proportions in [0, 1] when testSize is given (pass accuracies, not percentages).`);
  }
}

/** Standard error of mean(a) − mean(b) (see the top of this file). */
export function gapStandardError(a: number[], b: number[], opts: { testSize?: number } = {}): number {
  const n = opts.testSize;
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new Error(`testSize (${n}) must be a positive integer (the number of test examples).`);
  checkScores("a", a, n);
  checkScores("b", b, n);
  const seeds = sampleSd(a) ** 2 / a.length + sampleSd(b) ** 2 / b.length;
  const binomial = n === undefined ? 0 : (mean(a) * (1 - mean(a))) / n + (mean(b) * (1 - mean(b))) / n;
  return Math.sqrt(seeds + binomial);
}

/** Check every claim -> one result row each (see the top of this file). */
export function checkClaims(specs: ClaimSpec[], opts: ClaimOptions = {}): ClaimResult[] {
  const scale = opts.scale ?? 1;
  return specs.map((s) => {
    if (!s || typeof s.claim !== "string") throw new Error("each claim needs a `claim` text.");
    let gap: number;
    let se: number;
    if ("difference" in s) {
      gap = s.difference;
      se = s.standardError;
    } else if ("perExample" in s) {
      if (!s.perExample || !Array.isArray(s.perExample.a) || !Array.isArray(s.perExample.b)) {
        throw new Error(`claim "${s.claim}": perExample needs { a, b }, one score per example for each side (e.g. exactMatchScores(evaluation)).`);
      }
      const c = pairedComparison(s.perExample.a, s.perExample.b);
      gap = c.difference;
      se = c.standardError;
    } else {
      gap = mean(s.a) - mean(s.b);
      se = gapStandardError(s.a, s.b, { testSize: opts.testSize });
    }
    return { claim: s.claim, paper: s.paper ?? "", ours: gap * scale, noise: se * scale, verdict: verdictOf(gap, se, opts.factor ?? 2) };
  });
}

/** "3 of 8 orderings hold clearly, 1 is clearly reversed, 4 cannot be told apart at this scale." */
export function summarizeVerdicts(results: ClaimResult[]): string {
  const held = results.filter((r) => r.verdict === "holds").length;
  const reversed = results.filter((r) => r.verdict === "reversed").length;
  const unclear = results.length - held - reversed;
  return `${held} of ${results.length} orderings hold clearly, ${reversed} ${reversed === 1 ? "is" : "are"} clearly reversed, ${unclear} cannot be told apart at this scale.`;
}
