// The three seq2seq tasks on the committed samples (COGS, Multi30k, the spelling lists), the edit-distance
// baseline, evaluation (decode + metrics), grouping and the paired comparison used by notebook 05's claims.
import { test } from "node:test";
import assert from "node:assert/strict";
import { prepareCogs } from "../lib/tasks/cogs";
import { prepareMulti30k } from "../lib/tasks/multi30k";
import { NearestWordCorrector, keepInLexicon, prepareSpelling } from "../lib/tasks/spelling";
import { prepareToyTask, toyPairs } from "../lib/tasks/seq2seq_toy";
import { seq2seqSettings } from "../lib/tasks/seq2seq_settings";
import { RnnSeq2Seq } from "../lib/models/seq2seq/rnn_seq2seq";
import { accuracyBy, evaluateSeq2Seq, lengthBucket } from "../lib/eval/seq2seq_eval";
import { pairedComparison } from "../lib/eval/paired";
import { alignmentHeatmap, movingAverage, captureDisplays } from "../lib/viz";
import { EOS_ID } from "../lib/data/vocab";
import * as fs from "fs";
import { InterruptedError, clearInterrupt, requestInterrupt } from "../lib/interrupt";
import { alignmentOf, trainRnnSeq2Seq } from "../lib/tasks/seq2seq_runs";
import { checkpointDir } from "../lib/models/pretrain_cache";
import { decodeAll } from "../lib/decode";

test("COGS: whitespace symbols on both sides, generalization categories, subsets per category", async () => {
  const task = await prepareCogs({ sample: true, genPerCategory: 2 });
  assert.equal(task.train.length, 300);
  const e = task.train[0];
  assert.equal(task.codec.decodeTarget([...e.target, EOS_ID]), e.targetText);
  assert.equal(e.length, e.sourceText.split(" ").length);
  const cats = new Set(task.gen.map((p) => p.category));
  assert.ok(cats.size > 3);
  for (const c of cats) assert.ok(task.gen.filter((p) => p.category === c).length <= 2);
  assert.ok(task.test.every((p) => p.category === "in_distribution"));
});

test("Multi30k: lower-cased English words in, cased German words out, detokenized back to text", async () => {
  const task = await prepareMulti30k({ sample: true, minCount: 1 });
  assert.equal(task.train.length, 300);
  assert.equal(task.test.length, 100);
  const p = task.train[1];
  assert.equal(task.codec.decodeSource(p.source), task.codec.decodeSource(task.codec.encodeSource(p.sourceText.toLowerCase())));
  assert.ok(/[A-ZÄÖÜ]/.test(task.codec.decodeTarget(p.target)), "German keeps its capitals");
  assert.equal(task.codec.normaliseTarget("Ein Mann , der läuft ."), "Ein Mann, der läuft.");
});

test("spelling: pooled lists, lower-cased, no identical pairs; the edit-distance baseline ranks by distance, then frequency", async () => {
  const task = await prepareSpelling({ sample: true, devSize: 20, testSize: 40 });
  assert.equal(task.test.length, 40);
  assert.ok(task.train.every((p) => p.sourceText !== p.targetText && p.targetText === p.targetText.toLowerCase()));
  assert.ok(task.lexicon.includes(task.test[0].targetText));
  // "recieve": relieve is 1 edit away (c→l), receive and recipe 2 (the swap ie/ei counts as two edits);
  // between the last two, the more frequent training target comes first.
  const c = new NearestWordCorrector(["receive", "relieve", "recipe", "deceive", "cat"], new Map([["recipe", 3]]));
  assert.deepEqual(c.candidates("recieve", 3).map((r) => [r.word, r.distance]), [["relieve", 1], ["recipe", 2], ["receive", 2]]);
  assert.deepEqual(new NearestWordCorrector(["receive", "recipe"]).candidates("recieve", 2).map((r) => r.word), ["receive", "recipe"]);
  assert.deepEqual(c.candidates("cat", 1), [{ word: "cat", distance: 0 }]);
  assert.throws(() => new NearestWordCorrector([]), /non-empty lexicon/);
  assert.deepEqual(keepInLexicon(["recieve", "receive", "reseive"], new Set(["receive"])), ["receive"]);
  assert.deepEqual(keepInLexicon(["xx", "yy"], new Set(["receive"])), ["xx", "yy"]);
});

test("evaluateSeq2Seq: decodes, detokenizes and scores; accuracy by group and by length bucket", async () => {
  const task = prepareToyTask({ task: "reverse", trainSize: 50, evalSize: 6, symbols: 5, length: [2, 6], seed: 4 });
  const codec = task.codec;
  const model = new RnnSeq2Seq({ sourceVocabSize: codec.sourceVocab.size, targetVocabSize: codec.targetVocab.size, embedDim: 8, hidden: 8, seed: 1, maxTargetLen: 8 });
  const examples = task.test;
  const r = await evaluateSeq2Seq({ model, codec, examples, metrics: ["tokenAccuracy", "cer", "bleu"], strategy: { kind: "beam", beamSize: 5 } });
  assert.equal(r.predictions.length, 6);
  assert.ok(r.predictions.every((p) => p.candidates.length === 5 && p.predicted === p.candidates[0]));
  assert.equal(r.exactMatch, r.predictions.filter((p) => p.correct).length / 6);
  assert.ok(r.cer! >= 0 && r.tokenAccuracy! >= 0 && r.tokenAccuracy! <= 1 && r.bleu! >= 0);
  assert.ok(Number.isFinite(r.meanLogProb) && r.meanLogProb < 0);
  const fake = [true, false, true, true].map((correct, i) => ({ ...r.predictions[0], correct, length: [1, 2, 5, 6][i], category: ["x", "y", "x", "y"][i] }));
  assert.deepEqual(accuracyBy(fake, (p) => p.category!), [{ group: "x", accuracy: 1, count: 2 }, { group: "y", accuracy: 0.5, count: 2 }]);
  assert.deepEqual(accuracyBy(fake, (p) => p.length!).map((g) => g.group), [1, 2, 5, 6]);
  assert.equal(lengthBucket(1), "1–4");
  assert.equal(lengthBucket(5), "5–8");
  await assert.rejects(evaluateSeq2Seq({ model, codec, examples, metrics: ["rouge" as "bleu"] }), /metric "rouge" is unknown/);
  model.dispose();
});

test("toy tasks: copy and reverse pairs as text, a shared character codec, seeded", () => {
  assert.deepEqual(toyPairs(2, { task: "reverse", length: 4, seed: 1 }).map((p) => p.target), toyPairs(2, { task: "reverse", length: 4, seed: 1 }).map((p) => p.source.split("").reverse().join("")));
  const t = prepareToyTask({ task: "copy", trainSize: 30, evalSize: 5, symbols: 4, length: [2, 3] });
  assert.equal(t.codec.sourceVocab, t.codec.targetVocab);
  assert.equal(t.codec.sourceVocab.size, 7 + 4);
  assert.ok(t.train.every((p) => p.sourceText === p.targetText && p.length >= 2 && p.length <= 3));
  assert.throws(() => toyPairs(3, { symbols: 30 }), /symbols \(30\)/);
  assert.throws(() => toyPairs(3, { task: "sort" as "copy" }), /toy task "sort" is unknown/);
});

test("paired comparison: a clear gap holds, a reversed one is reversed, noise is undecided", () => {
  const ones = new Array(50).fill(1);
  const zeros = new Array(50).fill(0);
  assert.equal(pairedComparison(ones, zeros).verdict, "holds");
  assert.equal(pairedComparison(zeros, ones).verdict, "reversed");
  const alt = ones.map((_, i) => i % 2);
  const altShift = ones.map((_, i) => (i + 1) % 2);
  const c = pairedComparison(alt, altShift);
  assert.equal(c.verdict, "within noise");
  assert.equal(c.difference, 0);
  // d = [1, 0, 0, 0]: mean 0.25, sd 0.5, se 0.25 -> not beyond 2 se
  const small = pairedComparison([1, 1, 1, 1], [0, 1, 1, 1]);
  assert.equal(small.standardError, 0.25);
  assert.equal(small.verdict, "within noise");
  assert.throws(() => pairedComparison([1], [1, 2]), /one score of each system per example/);
});

test("views: moving average of a loss curve; an alignment heatmap checks its rows", () => {
  assert.deepEqual(movingAverage([1, 3, 5, 7], 2), [1, 2, 4, 6]);
  assert.deepEqual(movingAverage([2, 2, 2]), [2, 2, 2]);
  assert.throws(() => movingAverage([1], 0), /window \(0\)/);
  const { outputs } = captureDisplays(() => alignmentHeatmap({ source: ["a", "b"], output: ["b", "a", "[EOS]"], weights: [[0, 1], [1, 0], [0.5, 0.5]] }, "reverse"));
  assert.ok(outputs.some((o) => JSON.stringify(o).includes("reverse")), "the heatmap was displayed");
  assert.throws(() => alignmentHeatmap({ source: ["a"], output: ["a", "b"], weights: [[1]] }), /1 rows of weights for 2 generated tokens/);
});

test("the stop button: decoding throws InterruptedError; interrupted training is not cached; the baseline's batch call stops too", async () => {
  const task = prepareToyTask({ task: "copy", trainSize: 40, evalSize: 4, symbols: 4, length: [2, 3] });
  const model = { embedDim: 4, hidden: 4, dropout: 0 };
  requestInterrupt();
  try {
    await assert.rejects(trainRnnSeq2Seq({ name: "test-interrupted-run", task, model, trainer: { batchSize: 8, maxSteps: 3, progress: false, plot: false } }), InterruptedError);
    assert.equal(fs.existsSync(checkpointDir("test-interrupted-run-quick")), false, "nothing cached");
    const m = new RnnSeq2Seq({ sourceVocabSize: task.codec.sourceVocab.size, targetVocabSize: task.codec.targetVocab.size, ...model });
    await assert.rejects(decodeAll(m, task.test.map((p) => p.source)), InterruptedError);
    m.dispose();
    await assert.rejects(new NearestWordCorrector(["cat"]).candidatesAll(["cta"]), InterruptedError);
  } finally {
    clearInterrupt();
  }
  assert.deepEqual(await new NearestWordCorrector(["cat", "cut"]).candidatesAll(["cta", "ct"], 1), [[{ word: "cat", distance: 2 }], [{ word: "cat", distance: 1 }]]);
});

test("trainRnnSeq2Seq caches: a second identical call loads the weights; alignmentOf gives one row per generated token", async () => {
  const task = prepareToyTask({ task: "reverse", trainSize: 40, evalSize: 4, symbols: 4, length: [2, 4] });
  const opts = { name: "test-cached-run", task, model: { embedDim: 4, hidden: 4, dropout: 0 }, trainer: { batchSize: 8, maxSteps: 3, progress: false, plot: false } };
  const dir = checkpointDir("test-cached-run-quick");
  try {
    const first = await trainRnnSeq2Seq(opts);
    const second = await trainRnnSeq2Seq(opts);
    assert.equal(first.loaded, false);
    assert.equal(second.loaded, true);
    assert.deepEqual(second.losses, first.losses);
    const [a, b] = [first, second].map((r) => r.model.scoreTargets(task.test));
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-5));
    const al = alignmentOf(second.model, task.codec, "abca");
    assert.deepEqual(al.source, ["a", "b", "c", "a"]);
    assert.equal(al.weights.length, al.output.length);
    assert.ok(al.weights.every((row) => row.length === 4));
    const plain = await trainRnnSeq2Seq({ ...opts, name: "test-cached-run-none", model: { ...opts.model, attention: "none" } });
    assert.throws(() => alignmentOf(plain.model, task.codec, "abc"), /no attention weights/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(checkpointDir("test-cached-run-none-quick"), { recursive: true, force: true });
  }
});

test("seq2seqSettings: notebook 05's quick and full sizes, and a clear error for an unknown mode", () => {
  const q = seq2seqSettings("quick");
  const f = seq2seqSettings("full");
  assert.deepEqual([q.cogsTrainer.maxSteps, q.m30kTrainer.maxSteps, q.spellTrainer.maxSteps, q.toyTrainer.maxSteps], [40, 30, 40, 110]);
  assert.deepEqual([f.cogsTrainer.maxSteps, f.m30kTrainer.maxSteps, f.spellTrainer.maxSteps, f.toyTrainer.maxSteps], [1600, 1500, 2500, 300]);
  assert.equal(f.cogs.trainSize, undefined, "full mode trains on all of COGS");
  assert.equal(q.cogs.trainSize, 3000);
  assert.deepEqual([f.cogsModel.hidden, f.m30kModel.hidden, f.spellModel.hidden], [128, 128, 128]);
  assert.deepEqual(f.cogsTrainer.schedule, { kind: "linear", finalFraction: 0.05 });
  assert.deepEqual(q.beams, [1, 2, 4, 8]);
  assert.throws(() => seq2seqSettings("fast" as never), /seq2seqSettings mode "fast" is not a mode: use one of quick, full/);
});
