import { test } from "node:test";
import assert from "node:assert/strict";
import { checkClaims, gapStandardError, sampleSd, summarizeVerdicts, verdictOf } from "../lib/eval/claims";
import { exactMatchScores } from "../lib/eval/seq2seq_eval";
import { aucAboveChance, aucStandardError, binaryCrossEntropy, binaryEntropy, rocAuc } from "../lib/eval/binary";
import { showClaims } from "../lib/viz/electra";

test("gap noise: seed spread plus the test set's binomial noise, hand-computed", () => {
  assert.equal(sampleSd([1, 3]), Math.SQRT2);
  // seeds: sd_a² / 2 = 0.0002 / 2; sd_b = 0 -> 0.0001; binomial: 0.7·0.3/872 + 0.6·0.4/872.
  const a = [0.69, 0.71];
  const b = [0.6, 0.6];
  const se = gapStandardError(a, b, { testSize: 872 });
  assert.ok(Math.abs(se - Math.sqrt(0.0001 + 0.21 / 872 + 0.24 / 872)) < 1e-12, String(se));
  assert.equal(gapStandardError([5, 7], [1, 1]), 1, "without testSize only the seeds count: sqrt(2/2)");
  assert.throws(() => gapStandardError([70], [60], { testSize: 872 }), /must be proportions in \[0, 1\] when testSize is given \(pass accuracies, not percentages\)/);
  assert.throws(() => gapStandardError([], [0.5]), /a must be a non-empty array of finite scores/);
  assert.throws(() => gapStandardError([0.5], [0.5], { testSize: 0 }), /testSize \(0\) must be a positive integer/);
});

test("verdicts: holds beyond 2 se, reversed below -2 se, else within noise; the table and the summary", () => {
  assert.deepEqual([verdictOf(5, 2), verdictOf(4, 2), verdictOf(-4.1, 2), verdictOf(3, 1, 3)], ["holds", "within noise", "reversed", "within noise"]);
  const r = checkClaims([
    { claim: "A > B", paper: 2.8, a: [0.8, 0.8, 0.8], b: [0.7, 0.7, 0.7] },
    { claim: "B > A", a: [0.7], b: [0.8] },
    { claim: "close", paper: "(not in the paper)", a: [0.71], b: [0.7] },
    { claim: "paired", difference: 0.03, standardError: 0.01 },
  ], { testSize: 872, scale: 100 });
  assert.deepEqual(r.map((x) => x.verdict), ["holds", "reversed", "within noise", "holds"]);
  assert.ok(Math.abs(r[0].ours - 10) < 1e-9 && Math.abs(r[3].noise - 1) < 1e-12);
  assert.equal(r[0].paper, 2.8);
  assert.equal(summarizeVerdicts(r), "2 of 4 orderings hold clearly, 1 is clearly reversed, 1 cannot be told apart at this scale.");
  const t = showClaims(r, "claims", { }) ;
  assert.deepEqual(t.columns, ["claim", "paper gap", "our gap", "noise (1 se; verdicts at 2 se)", "verdict"]);
  assert.match(t.html, /#b7e4b7/);
  assert.throws(() => checkClaims([{ claim: "x", a: [NaN], b: [0.5] }]), /non-empty array of finite scores/);
});

test("claims from per-example scores: the paired comparison's gap and standard error, hand-computed", () => {
  // Differences per example: a − b = [1, 0, 1, 1, 0, 0, 1, 0] → mean 0.5, sample sd sqrt(2/7), se sqrt(2/7)/sqrt(8).
  const a = exactMatchScores({ predictions: [1, 1, 1, 1, 0, 1, 1, 0].map((x) => ({ correct: x === 1 })) });
  const b = exactMatchScores({ predictions: [0, 1, 0, 0, 0, 1, 0, 0].map((x) => ({ correct: x === 1 })) });
  assert.deepEqual(a, [1, 1, 1, 1, 0, 1, 1, 0]);
  const se = Math.sqrt(2 / 7 / 8);
  const [r] = checkClaims([{ claim: "A > B", paper: 1, perExample: { a, b } }], { scale: 100 });
  assert.ok(Math.abs(r.ours - 50) < 1e-9, String(r.ours));
  assert.ok(Math.abs(r.noise - 100 * se) < 1e-9, String(r.noise));
  assert.equal(r.verdict, "holds", "0.5 > 2 × 0.189");
  // Read as two independent samples (the unpaired form) the same lists give a wider noise: each side's sample
  // variance 8/7 · 3/16 = 3/14, se sqrt(2 · (3/14) / 8) = sqrt(3/56) > sqrt(2/56). Pairing is what tightens it.
  const [unpaired] = checkClaims([{ claim: "A > B", a, b }]);
  assert.ok(Math.abs(unpaired.noise - Math.sqrt(3 / 56)) < 1e-12, String(unpaired.noise));
  assert.ok(unpaired.noise > r.noise / 100);
  // factor applies to the paired form too; mismatched or missing lists are named.
  assert.equal(checkClaims([{ claim: "A > B", perExample: { a, b } }], { factor: 3 })[0].verdict, "within noise", "0.5 < 3 × 0.189");
  assert.throws(() => checkClaims([{ claim: "A > B", perExample: { a, b: b.slice(1) } }]), /one score of each system per example: got 8 and 7/);
  assert.throws(() => checkClaims([{ claim: "A > B", perExample: undefined as never }]), /claim "A > B": perExample needs \{ a, b \}/);
  assert.throws(() => exactMatchScores({ predictions: [] }), /exactMatchScores needs an evaluation with predictions/);
});

test("binary yardsticks: entropy of the base rate, cross-entropy, ROC AUC with ties", () => {
  assert.equal(binaryEntropy(0.5), Math.log(2));
  assert.equal(binaryEntropy(0), 0);
  assert.ok(Math.abs(binaryEntropy(0.15) - 0.4227) < 1e-4);
  assert.ok(Math.abs(binaryCrossEntropy([0.5, 0.5], [1, 0]) - Math.log(2)) < 1e-12);
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75); // sklearn's roc_auc_score example
  assert.equal(rocAuc([0.5, 0.5, 0.5], [0, 1, 1]), 0.5, "all tied: no information");
  assert.ok(Number.isNaN(rocAuc([0.2, 0.3], [1, 1])), "one class only");
  assert.throws(() => rocAuc([0.2], [2]), /label 2 \(index 0\) must be 0 or 1/);
  assert.throws(() => binaryCrossEntropy([0.2, 0.1], [1]), /2 scores but 1 labels/);
  // By hand at AUC 0.5, 50 and 50 cases: Q1 = Q2 = 1/3, se = sqrt((0.25 + 2·49·(1/3 − 1/4)) / 2500) = 0.05802.
  assert.ok(Math.abs(aucStandardError(0.5, 50, 50) - 0.05802) < 1e-5);
  assert.ok(Math.abs(aucStandardError(0.8, 50, 50) - 0.04450) < 1e-5, String(aucStandardError(0.8, 50, 50)));
  assert.ok(aucStandardError(0.5, 500, 500) < aucStandardError(0.5, 50, 50) / 3, "shrinks like 1/sqrt(n)");
});

test("aucAboveChance: above 0.5 only beyond two standard errors (hand values), its reading, and bad input named", () => {
  // se(0.60; 50, 50) = 0.05660: 0.10 / 0.0566 = 1.77 standard errors, not enough; se(0.62) = 0.05597: 2.14, enough.
  const weak = aucAboveChance({ auc: 0.6, nPositive: 50, nNegative: 50 });
  assert.ok(Math.abs(weak.standardError - 0.0566039) < 1e-6, String(weak.standardError));
  assert.equal(weak.above, false);
  assert.equal(weak.reading, "AUC 0.600 ± 0.057 -> not distinguishable from the base rate at this scale");
  const strong = aucAboveChance({ auc: 0.62, nPositive: 50, nNegative: 50 });
  assert.deepEqual([strong.above, strong.reading], [true, "AUC 0.620 ± 0.056 -> better than the base rate"]);
  assert.equal(aucAboveChance({ auc: 0.62, nPositive: 50, nNegative: 50, z: 2.2 }).above, false, "a stricter z");
  assert.equal(aucAboveChance({ auc: 0.4, nPositive: 500, nNegative: 500 }).above, false, "below chance is never above it");
  assert.throws(() => aucAboveChance({ auc: Number.NaN, nPositive: 5, nNegative: 0 }), /auc is NaN: one class .* was absent; measure on more tokens/);
  assert.throws(() => aucAboveChance({ auc: 0.7, nPositive: 0, nNegative: 5 }), /positive counts, got 0.7, 0, 5/);
  assert.throws(() => aucAboveChance({ auc: 0.7, nPositive: 5, nNegative: 5, z: 0 }), /z \(0\) must be a positive number of standard errors/);
});
