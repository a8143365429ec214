import { test } from "node:test";
import assert from "node:assert/strict";
import { wordTokenize, charTokenize, detokenize } from "../lib/data/tokenize";
import { Vocab, PAD_ID, UNK_ID, MASK_ID, SPECIALS } from "../lib/data/vocab";
import { padIds, padBatch, makeBatches } from "../lib/data/batching";
import { Rng } from "../lib/random";
import { accuracy, confusionMatrix, macroF1, perClass, classificationReport } from "../lib/eval/metrics";

test("word and character tokenizers", () => {
  assert.deepEqual(wordTokenize("The film, frankly, isn't GOOD."), ["the", "film", ",", "frankly", ",", "isn't", "good", "."]);
  assert.deepEqual(wordTokenize("it does n't work"), ["it", "does", "n't", "work"]);
  assert.deepEqual(wordTokenize("Keep Case", { lowercase: false }), ["Keep", "Case"]);
  assert.deepEqual(charTokenize("naïve 😀"), ["n", "a", "ï", "v", "e", " ", "😀"]);
  assert.equal(detokenize(["hello", ",", "world", "!"]), "hello, world!");
  assert.throws(() => wordTokenize(3 as unknown as string), /expects a string/);
});

test("vocab: specials at fixed ids, frequency order, min-count, max-size, round trip, unknowns", () => {
  const corpus = [["a", "b", "a"], ["c", "a", "b"], ["d"]];
  const v = Vocab.build(corpus);
  assert.deepEqual(v.tokens.slice(0, SPECIALS.length), [...SPECIALS]);
  assert.deepEqual(v.tokens.slice(SPECIALS.length), ["a", "b", "c", "d"]); // by count, ties alphabetical
  assert.equal(v.id("[PAD]"), PAD_ID);
  assert.equal(v.id("[MASK]"), MASK_ID);
  const ids = v.encode(["b", "zzz", "a"]);
  assert.deepEqual(ids, [8, UNK_ID, 7]);
  assert.deepEqual(v.decode(ids), ["b", "[UNK]", "a"]);
  assert.deepEqual(v.decode(v.encode(corpus[1])), corpus[1]);
  assert.deepEqual(Vocab.build(corpus, { minCount: 2 }).tokens.slice(SPECIALS.length), ["a", "b"]);
  assert.equal(Vocab.build(corpus, { maxSize: SPECIALS.length + 1 }).size, SPECIALS.length + 1);
  assert.equal(v.unknownRate([["a", "q", "r", "b"]]), 0.5);
  const back = Vocab.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
  assert.deepEqual(back.tokens, v.tokens);
  assert.throws(() => Vocab.build(corpus, { maxSize: 3 }), /maxSize \(3\) must be at least 7/);
  assert.throws(() => v.token(999), /id 999 is outside the vocabulary/);
  assert.deepEqual(v.decode([2, 7, 3, 0], { skipSpecial: true }), ["a"]);
});

test("padding to the longest or a fixed length, with a mask", () => {
  const p = padIds([[5, 6, 7], [8]]);
  assert.deepEqual(p.ids, [[5, 6, 7], [8, 0, 0]]);
  assert.deepEqual(p.mask, [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(padIds([[5, 6, 7], [8]], { length: 2 }).ids, [[5, 6], [8, 0]]);
  const b = padBatch([[5, 6, 7], [8]], { length: 4 });
  assert.deepEqual(b.ids.shape, [2, 4]);
  assert.equal(b.ids.dtype, "int32");
  assert.deepEqual(b.mask.arraySync(), [[1, 1, 1, 0], [1, 0, 0, 0]]);
  b.ids.dispose();
  b.mask.dispose();
});

test("batches cover every example once; bucketing groups similar lengths", () => {
  const xs = Array.from({ length: 103 }, (_, i) => ({ i, len: (i * 37) % 50 }));
  const batches = makeBatches(xs, { batchSize: 10, rng: new Rng(1) });
  assert.equal(batches.length, 11);
  assert.deepEqual(batches.flat().map((x) => x.i).sort((a, b) => a - b), xs.map((x) => x.i));
  const bucketed = makeBatches(xs, { batchSize: 10, rng: new Rng(1), bucketBy: (x) => x.len });
  const spread = (bs: typeof batches) => bs.reduce((s, b) => s + Math.max(...b.map((x) => x.len)) - Math.min(...b.map((x) => x.len)), 0);
  assert.ok(spread(bucketed) < spread(batches) / 3, `${spread(bucketed)} vs ${spread(batches)}`);
  assert.deepEqual(makeBatches(xs, { batchSize: 10, shuffle: false })[0].map((x) => x.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("metrics: accuracy, confusion matrix, per-class and macro F1 (checked by hand)", () => {
  const gold = [0, 0, 0, 1, 1, 2];
  const pred = [0, 0, 1, 1, 2, 2];
  assert.equal(accuracy(gold, pred), 4 / 6);
  assert.deepEqual(confusionMatrix(gold, pred), [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  const pc = perClass(gold, pred);
  assert.equal(pc[0].precision, 1);
  assert.equal(pc[0].recall, 2 / 3);
  assert.ok(Math.abs(pc[0].f1 - 0.8) < 1e-12);
  assert.ok(Math.abs(pc[1].f1 - 0.5) < 1e-12);
  assert.ok(Math.abs(pc[2].f1 - 2 / 3) < 1e-12);
  assert.ok(Math.abs(macroF1(gold, pred) - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
  assert.equal(macroF1([0, 0], [0, 0], 2), 0.5); // the absent class scores 0: no credit for predicting one class
  const report = classificationReport(gold, pred, ["neg", "neu", "pos"]);
  assert.equal(report[0].class, "neg");
  assert.equal(report[3].class, "macro avg");
  assert.throws(() => accuracy([1], [1, 0]), /differ in length/);
});

test("classification report as a danfojs DataFrame", async () => {
  const { classificationReportFrame } = await import("../lib/eval/report");
  const df = classificationReportFrame([0, 0, 1, 1], [0, 1, 1, 1], ["neg", "pos"]);
  assert.deepEqual(df.columns, ["class", "precision", "recall", "f1", "support"]);
  assert.equal(df.shape[0], 5);
  const rows = df.values as unknown[][];
  assert.equal(rows[0][0], "neg");
  assert.equal(rows[0][1], 1); // precision of neg: 1/1
  assert.ok(Math.abs((rows[1][3] as number) - 0.8) < 1e-9); // F1 of pos: 2·(2/3·1)/(2/3+1)
});

test("the report DataFrame's numeric columns hold only numbers (NaN where n/a): filters and means see numbers", async () => {
  const { classificationReportFrame } = await import("../lib/eval/report");
  const df = classificationReportFrame([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["neg", "pos"]);
  // The case: before, precision held "" in the accuracy row, so `< 0.55` kept ["neg", "accuracy"]
  // and the mean was 0.47 over 5 rows.
  const low = df.query(df["precision"].lt(0.55));
  assert.deepEqual(low["class"].values, ["neg"]);
  const precision = df["precision"];
  assert.ok(Math.abs(precision.mean() - 0.5875) < 1e-9, `mean precision ${precision.mean()}`); // (1/2 + 2/3 + 7/12 + 3/5) / 4
  assert.equal(precision.count(), 4);
  for (const column of ["precision", "recall", "f1", "support"]) {
    for (const v of df[column].values as unknown[]) assert.equal(typeof v, "number", `${column} holds ${JSON.stringify(v)}`);
  }
  const rows = classificationReport([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["neg", "pos"]);
  assert.deepEqual(rows[4], { class: "accuracy", precision: NaN, recall: NaN, f1: 0.6, support: 5 });
  assert.throws(() => classificationReport([0, 2], [0, 1], ["neg", "pos"]), /gold label 2 \(example 1\) is not a class id in 0\.\.1/);
});
