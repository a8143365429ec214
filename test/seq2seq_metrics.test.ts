// Sequence metrics against the standard tools: corpus BLEU against sacreBLEU 2.6 (default settings, plus
// lowercase and tokenize none), CER/WER against jiwer 4. The reference numbers were computed by
// scripts/reference/seq2seq_metrics_reference.py and committed in test/fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { BleuResult, corpusBleu, tokenize13a } from "../lib/eval/bleu";
import { characterErrorRate, editDistance, errorRate, exactMatch, tokenAccuracy, topKAccuracy } from "../lib/eval/sequence_metrics";

/** One reference case: the inputs, sacreBLEU's options, and what sacreBLEU computed (the fields of BleuResult). */
type BleuCase = BleuResult & { name: string; hypotheses: string[]; references: string[][]; options: { lowercase?: boolean; tokenize?: "13a" | "none" } };
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "seq2seq_metrics_reference.json"), "utf8")) as {
  bleu: BleuCase[];
  cer: { gold: string[]; pred: string[]; cer: number; perPair: number[]; wer: number; werGold: string[]; werPred: string[] };
};

const close = (a: number, b: number, tol = 1e-9, what = "") => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

for (const c of ref.bleu) {
  test(`corpus BLEU equals sacreBLEU: ${c.name}`, () => {
    const r = corpusBleu({ hypotheses: c.hypotheses, references: c.references, ...c.options });
    close(r.score, c.score, 1e-9, "score");
    assert.deepEqual(r.matches, c.matches);
    assert.deepEqual(r.totals, c.totals);
    assert.equal(r.hypLength, c.hypLength);
    assert.equal(r.refLength, c.refLength);
    close(r.brevityPenalty, c.brevityPenalty, 1e-12, "BP");
    r.precisions.forEach((p, i) => close(p, c.precisions[i], 1e-9, `p${i + 1}`));
  });
}

test("the reference cases cover the interesting regimes", () => {
  const scores = ref.bleu.map((c) => c.score);
  assert.ok(scores.some((s) => Math.abs(s - 100) < 1e-9) && scores.some((s) => s === 0) && scores.some((s) => s > 10 && s < 90));
  assert.ok(ref.bleu.some((c) => c.brevityPenalty < 1) && ref.bleu.some((c) => c.references[0].length > 1));
  assert.ok(ref.bleu.some((c) => c.matches.includes(0) && c.score > 0), "a case where exp smoothing decides the score");
});

test("13a tokenization splits punctuation but keeps numbers, apostrophes and inner dashes", () => {
  assert.deepEqual(tokenize13a("Hello, world! It's 3.50 or 1,000."), ["Hello", ",", "world", "!", "It's", "3.50", "or", "1,000", "."]);
  assert.deepEqual(tokenize13a("5-3 well-known"), ["5", "-", "3", "well-known"]);
  assert.deepEqual(tokenize13a("&quot;a&quot; &amp; b"), ['"', "a", '"', "&", "b"]);
  assert.deepEqual(tokenize13a("  "), []);
});

test("BLEU: bad input names the fix", () => {
  assert.throws(() => corpusBleu({ hypotheses: ["a"], references: [] }), /1 hypotheses but 0 reference lists/);
  assert.throws(() => corpusBleu({ hypotheses: [], references: [] }), /empty corpus/);
  assert.throws(() => corpusBleu({ hypotheses: ["a"], references: [[]] }), /segment 0 has no reference/);
  assert.throws(() => corpusBleu({ hypotheses: [["a"]] as unknown as string[], references: [["a"]] }), /detokenize/);
  assert.throws(() => corpusBleu({ hypotheses: ["a"], references: [["a"]], tokenize: "intl" as "13a" }), /tokenize "intl"/);
});

test("character error rate equals jiwer's, corpus-level and per pair; WER on token lists", () => {
  close(characterErrorRate(ref.cer.gold, ref.cer.pred), ref.cer.cer, 1e-12, "CER");
  ref.cer.gold.forEach((g, i) => close(characterErrorRate([g], [ref.cer.pred[i]]), ref.cer.perPair[i], 1e-12, g));
  const words = (xs: string[]) => xs.map((s) => s.split(" ").filter(Boolean));
  close(errorRate(words(ref.cer.werGold), words(ref.cer.werPred)), ref.cer.wer, 1e-12, "WER");
  assert.throws(() => characterErrorRate([""], ["a"]), /undefined/);
  assert.throws(() => characterErrorRate(["a"], []), /differ in length/);
});

test("edit distance, exact match, token accuracy and top-k by hand", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance(["x", "_", "1"], ["x", "_", "1"]), 0);
  assert.equal(editDistance([1, 2, 3], [2, 3, 4]), 2);
  assert.equal(editDistance("naïve", "naive"), 1); // code points, not bytes
  assert.equal(editDistance("kitten", "sitting", 1), 2); // limit 1 exceeded: limit + 1
  assert.equal(editDistance("kitten", "sitting", 3), 3);
  assert.equal(editDistance("a", "abcdef", 2), 3);
  assert.equal(exactMatch([["a", "b"], ["c"]], [["a", "b"], ["c", "d"]]), 0.5);
  assert.equal(exactMatch(["abc"], ["abc"]), 1);
  // pair 1: 2 of 3 positions right; pair 2: 1 right over max(1, 2) = 2 positions -> 3 / 5
  assert.equal(tokenAccuracy([["a", "b", "c"], ["d"]], [["a", "x", "c"], ["d", "e"]]), 3 / 5);
  assert.equal(tokenAccuracy([["a"]], [[]]), 0);
  assert.equal(topKAccuracy(["cat", "dog"], [["cat", "cot"], ["dig", "dug", "dog"]], 1), 0.5);
  assert.equal(topKAccuracy(["cat", "dog"], [["cat", "cot"], ["dig", "dug", "dog"]], 3), 1);
  assert.throws(() => topKAccuracy(["a"], [["a"]], 0), /k \(0\)/);
  assert.throws(() => exactMatch([], []), /no sequences/);
});
