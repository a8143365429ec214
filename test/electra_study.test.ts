// lib/tasks/electra_study.ts and its views (lib/viz/electra.ts): notebook 04's sizes per mode, and its section
// runners on a tiny corpus and model: the right runs are pre-trained (or reused), every read-out is a real
// accuracy, the curves and the sweep's best follow from the read-outs, and no tensor is left behind.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { electraSettings, runAblations, runGeneratorSweep, computeCurve, runTwoStage, readOut, TABLE5_OBJECTIVES, TABLE5_GLUE, longRunPlan, runLongRun, LONG_RUN } from "../lib/tasks/electra_study";
import { pretrainingCacheStatus, runPretraining, Sst2Slice } from "../lib/tasks/electra_experiments";
import { preparePretrainingCorpus } from "../lib/tasks/pretraining_corpus";
import { checkpointDir } from "../lib/models/pretrain_cache";
import { ablationView, computeView, generatorSweepView, longRunView } from "../lib/viz/electra";
import { Rng } from "../lib/random";

const PREFIX = "test-electra-study";
after(() => {
  const dir = path.dirname(checkpointDir("x"));
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.startsWith(PREFIX)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
});

test("electraSettings: the notebook's sizes per mode, the cache-key order, changes reach arch and pretrain, errors name the fix", () => {
  const q = electraSettings({ mode: "quick" });
  const f = electraSettings({ mode: "full" });
  assert.deepEqual([q.steps, q.batch, q.width, q.window, q.reviews, q.ftSeeds, q.fractions, q.snapshots], [120, 16, 64, 31, 700, [0], [0.25, 1], [60]]);
  assert.deepEqual([f.steps, f.batch, f.width, f.window, f.reviews, f.ftSeeds, f.fractions, f.snapshots], [1200, 32, 128, 63, 20000, [0, 1, 2], [0.125, 0.25, 0.5, 1], [300, 600]]);
  assert.deepEqual([q.vocab, q.heads, q.layers, q.labelled, q.ftEpochs, q.lr], [2000, 2, 2, 160, 2, 2e-3]);
  assert.deepEqual([f.vocab, f.heads, f.layers, f.labelled, f.ftEpochs, f.lr, f.maskRate, f.positions], [8000, 4, 2, 1000, 5, 2e-3, 0.25, "alibi"]);
  assert.deepEqual(q.arch, { width: 64, heads: 2, layers: 2, norm: "pre", dropout: 0.1, maskRate: 0.25, positions: "alibi" }, "the arch (a cache key) as before alibiSlopeScale existed");
  // runPretraining's cache key spreads these settings: the order must stay, or every cached checkpoint retrains.
  assert.deepEqual(Object.keys(q.pretrain), ["steps", "batchSize", "learningRate", "snapshots", "seed"]);
  assert.deepEqual(q.pretrain, { steps: 120, batchSize: 16, learningRate: 2e-3, snapshots: [], seed: 0 });
  assert.equal(q.runPrefix, "e04-quick");
  assert.equal(f.runPrefix, "e04-full");
  const t = electraSettings({ mode: "quick", changes: { steps: 600, positions: "t5", maskRate: 0.15 } });
  assert.deepEqual([t.pretrain.steps, t.arch.positions, t.arch.maskRate, t.width], [600, "t5", 0.15, 64]);
  assert.equal(t.arch.alibiSlopeScale, undefined, "no ALiBi option without ALiBi");
  assert.equal(electraSettings({ mode: "quick", changes: { alibiSlopeScale: 4 } }).arch.alibiSlopeScale, 4);
  assert.throws(() => electraSettings({ changes: { positions: "t5", alibiSlopeScale: 4 } }), /alibiSlopeScale \(4\) applies to positions "alibi" only/);
  assert.throws(() => electraSettings({ changes: { stepz: 3 } as never }), /changes.stepz is not a size/);
  assert.throws(() => electraSettings({ changes: { steps: 0 } }), /changes.steps \(0\) must be a positive number/);
  assert.throws(() => electraSettings({ changes: { ftSeeds: [] } }), /changes.ftSeeds \(\[\]\) must be a non-empty list/);
  assert.throws(() => electraSettings({ mode: "fast" as never }), /mode "fast" is not a mode/);
  assert.throws(() => electraSettings({ runPrefix: "a b" }), /runPrefix "a b" must use letters/);
});

test("runners: ablations, generator sweep, quality vs compute, two-stage on a tiny corpus; views; no tensors left", async () => {
  const corpus = await preparePretrainingCorpus({ reviews: 40, heldOutReviews: 4, vocabSize: 300, windowLength: 15, cache: false, load: { sample: true }, log: () => {} });
  const S = electraSettings({
    mode: "quick",
    runPrefix: PREFIX,
    changes: { window: 15, width: 16, heads: 2, layers: 1, batch: 8, steps: 2, labelled: 24, ftEpochs: 1, ftSeeds: [0, 1], fractions: [0.25, 0.5], snapshots: [1] },
  });
  // A labelled slice from the corpus itself: label = whether the window's first token id is even.
  const rng = new Rng(3);
  const pick = (n: number) => rng.shuffle(corpus.train.slice()).slice(0, n).map((w) => ({ ids: w.ids, label: (w.ids[0] % 2) as 0 | 1 }));
  const data: Sst2Slice = { train: pick(24), dev: pick(16) };
  const log = () => {};

  const electra = await runPretraining({ name: `${PREFIX}-electra-s0`, model: { ...S.arch, objective: "electra", seed: 0 }, corpus, settings: { ...S.pretrain, snapshots: S.snapshots }, force: true, log });
  // Each read-out is reproducible: the same model and seeds give the same scores (this also warms up the
  // fine-tuning and probe code, whose first call keeps a tensor or so for later calls).
  const first = await readOut(electra.model, { data, seeds: S.ftSeeds, epochs: S.ftEpochs });
  const before = tf.memory().numTensors;
  // Reuse the ELECTRA run for three objectives (checked by identity below): only Replace MLM and BERT pre-train here.
  const rows = await runAblations({ settings: S, corpus, data, reuse: { electra, "all-tokens-mlm": electra, "electra-15": electra } });
  assert.deepEqual(Object.keys(rows), [...TABLE5_OBJECTIVES, "none"]);
  assert.equal(rows.electra.run, electra, "a reused run is read out, not pre-trained again");
  assert.deepEqual(rows.electra.scores, first.scores);
  assert.equal(rows["replace-mlm"].run!.name, `${PREFIX}-replace-mlm-s0`);
  assert.equal(rows.bert.run!.name, `${PREFIX}-bert-s0`);
  assert.equal(rows.none.run, undefined);
  for (const [k, r] of Object.entries(rows)) {
    assert.equal(r.scores.length, 2, `${k}: one score per fine-tuning seed`);
    assert.ok([...r.scores, r.probe].every((x) => x >= 0 && x <= 1), `${k}: accuracies in [0, 1]: ${r.scores} ${r.probe}`);
    assert.ok(r.cosine >= -1 && r.cosine <= 1, `${k}: cosine ${r.cosine}`);
    if (r.run) assert.equal(r.run.evals.at(-1)!.step, 2, `${k}: pre-trained for settings.steps`);
  }
  await assert.rejects(readOut(electra.model, { data, seeds: [], epochs: 1 }), /seeds \(\[\]\) must be a non-empty list/);

  const sweep = await runGeneratorSweep({ settings: S, corpus, data, reuse: { 0.25: rows.electra } });
  assert.equal(sweep.rows[0.25], rows.electra);
  assert.equal(sweep.rows[0.5].run!.name, `${PREFIX}-electra-g0.5-s0`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const expectBest = mean(sweep.rows[0.5].scores) > mean(sweep.rows[0.25].scores) ? 0.5 : 0.25;
  assert.equal(sweep.best, expectBest);

  const curve = await computeCurve({ run: electra, objective: "electra", settings: S, vocabSize: corpus.tokenizer.size, data, start: rows.none, end: rows.electra });
  assert.deepEqual(curve.map((p) => p.flops), [0, electra.flopsPerStep, 2 * electra.flopsPerStep]);
  assert.equal(curve[0].acc, mean(rows.none.scores));
  assert.equal(curve[2].acc, mean(rows.electra.scores));
  assert.ok(curve[1].acc >= 0 && curve[1].acc <= 1);

  const two = await runTwoStage({ settings: S, corpus, data });
  assert.equal(two.readout.run!.name, `${PREFIX}-two-stage-electra-s0`);
  assert.equal(two.readout.run!.evals.at(-1)!.step, 1, "each stage runs half the steps");
  assert.ok(two.point.flops > 0 && two.point.acc === mean(two.readout.scores));

  const a = ablationView({ rows, order: [...TABLE5_OBJECTIVES, "none"], paper: TABLE5_GLUE, steps: S.steps, unigram: corpus.unigramEntropy, title: "t" });
  assert.deepEqual(a.table.cells.map((r) => r[0]), ["ELECTRA", "All-Tokens MLM", "Replace MLM", "ELECTRA-15%", "BERT", "no pre-training"]);
  assert.equal(a.chart.data.length, 2, "fine-tuned and probe bars");
  assert.throws(() => ablationView({ rows, order: ["bert-electra"], paper: TABLE5_GLUE, steps: 4, unigram: 1, title: "t" }), /no readout for bert-electra/);
  const g = generatorSweepView({ rows: sweep.rows, fractions: S.fractions, width: S.width });
  assert.deepEqual(g.table.cells.map((r) => r[1]), ["4", "8"], "generator widths");
  assert.throws(() => generatorSweepView({ rows: { 0.25: rows.none }, fractions: [0.25], width: 16 }), /fraction 0.25 has no pre-training run/);
  const c = computeView({ electra: curve, bert: curve, twoStage: two.point, flopsPerStep: { electra: electra.flopsPerStep, bert: electra.flopsPerStep } });
  assert.equal(c.chart.data.length, 3);
  assert.equal(c.table.totalRows, 2 * curve.length + 1);

  // The long run: the plan per mode and switch, then both runs read out at their snapshots and end.
  const full = electraSettings({ mode: "full", runPrefix: PREFIX });
  const skipped = longRunPlan({ settings: full, corpus, env: {} });
  assert.equal(skipped.run, false, "full mode does not start an hour-long run unasked");
  assert.match(skipped.reason, /nothing is cached at .*checkpoints\/test-electra-study-electra-g0\.5-long9600-s0.*: set NLU_LONG_RUN=1 to pre-train ELECTRA and BERT for 9600 steps/);
  assert.throws(() => longRunPlan({ settings: full, corpus: undefined as never }), /longRunPlan corpus is missing: pass the notebook's pre-training corpus/);
  assert.equal(longRunPlan({ settings: full, corpus, env: { NLU_LONG_RUN: "1" } }).run, true);
  assert.deepEqual(longRunPlan({ settings: full, corpus, env: {} }).names, { electra: `${PREFIX}-electra-g0.5-long9600-s0`, bert: `${PREFIX}-bert-long9600-s0` });
  assert.throws(() => longRunPlan({ settings: full, corpus, env: { NLU_LONG_RUN: "yes" } }), /NLU_LONG_RUN="yes" is not a switch: use 1/);
  assert.throws(() => longRunPlan({ settings: S, corpus, changes: { steps: 4, snapshots: [4] } }), /snapshots integers between 0 and steps/);
  await assert.rejects(runLongRun({ plan: skipped, data, start: rows.none }), /the plan does not run \(skipped/);
  const plan = longRunPlan({ settings: S, corpus, env: {}, changes: { steps: 4, snapshots: [2] } });
  assert.equal(plan.run, true, "quick mode always runs its toy-sized copy");
  assert.equal(LONG_RUN.quick.generatorFraction, plan.generatorFraction);
  const long = await runLongRun({ plan, data, start: rows.none });
  for (const k of ["electra", "bert"] as const) {
    assert.deepEqual(long[k].map((p) => p.step), [0, 2, 4], `${k}: no pre-training, the snapshot, the end`);
    assert.deepEqual(long[k].map((p) => p.flops), [0, 2, 4].map((x) => x * long.flopsPerStep[k]));
    assert.equal(long[k][0].acc, mean(rows.none.scores));
    assert.ok(long[k].every((p) => p.acc >= 0 && p.acc <= 1 && p.probe! >= 0 && p.probe! <= 1 && Math.abs(p.cosine!) <= 1), `${k}: real read-outs`);
  }
  assert.ok(long.flopsPerStep.electra > long.flopsPerStep.bert, "ELECTRA's step also runs its generator");
  assert.ok(fs.existsSync(path.join(checkpointDir(`${PREFIX}-electra-g0.5-long4-s0-at2`), "manifest.json")), "the ½-width generator's snapshot is saved (and loaded for its read-out)");
  const lv = longRunView(long);
  assert.equal(lv.chart.data.length, 3, "ELECTRA, BERT and the no-pre-training line");
  assert.equal(lv.table.totalRows, 6);
  assert.ok(long.seconds.electra > 0 && long.seconds.bert > 0, `measured pre-training times: ${JSON.stringify(long.seconds)}`);
  assert.match(lv.table.text, /pre-training took \d+\.\d s \(ELECTRA\) and \d+\.\d s \(BERT\), wall clock/, "the view shows the measured time");

  rows["replace-mlm"].run!.model.dispose();
  rows.bert.run!.model.dispose();
  assert.equal(tf.memory().numTensors, before, "every model the runners made is disposed or handed back");
  electra.model.dispose();
});

test("longRunPlan asks the cache what runPretraining would do: a stale key or corpus, a missing or newer snapshot, corrupt weights -> not cached, with the reason", async () => {
  const corpus = await preparePretrainingCorpus({ reviews: 40, heldOutReviews: 4, vocabSize: 300, windowLength: 15, cache: false, load: { sample: true }, log: () => {} });
  const tiny = { window: 15, width: 16, heads: 2, layers: 1, batch: 8 };
  const prefix = `${PREFIX}-plan`;
  const full = electraSettings({ mode: "full", runPrefix: prefix, changes: tiny });
  const plan = (settings = full, c = corpus) => longRunPlan({ settings, corpus: c, env: {}, changes: { steps: 4, snapshots: [2] } });
  const log = () => {};
  const bertName = `${prefix}-bert-long4-s0`;
  const snapshot = checkpointDir(`${bertName}-at2`);

  const fresh = plan();
  assert.equal(fresh.run, false, fresh.reason);
  assert.match(fresh.reason, /^skipped \(nothing is cached at .*electra-g0\.5-long4-s0; nothing is cached at .*bert-long4-s0\): set NLU_LONG_RUN=1/);
  // Cache both runs the way the long run does (4 steps each): then the plan loads them without NLU_LONG_RUN.
  for (const k of ["electra", "bert"] as const) (await runPretraining({ ...fresh.runs[k], log })).model.dispose();
  const cached = plan();
  assert.deepEqual([cached.run, cached.reason], [true, "both runs are cached under checkpoints/"]);
  const loaded = await runPretraining({ ...cached.runs.bert, log });
  assert.equal(loaded.loaded, true, "what the plan calls cached, runPretraining loads");
  loaded.model.dispose();

  // The same checkpoint names (their manifests are there) with another learning rate, or another corpus: stale.
  const otherLr = plan(electraSettings({ mode: "full", runPrefix: prefix, changes: { ...tiny, lr: 1e-3 } }));
  assert.deepEqual(otherLr.names, cached.names);
  assert.equal(otherLr.run, false, "a checkpoint made with other settings must not start an hour-long run");
  assert.match(otherLr.reason, /electra-g0\.5-long4-s0 was made with a different configuration \(cacheKey\.learningRate: saved 0\.002, model 0\.001\).*: set NLU_LONG_RUN=1/);
  const fewer = plan(full, { ...corpus, train: corpus.train.slice(1) });
  assert.equal(fewer.run, false);
  assert.match(fewer.reason, new RegExp(`cacheKey\\.windows: saved ${corpus.train.length}, model ${corpus.train.length - 1}`));

  // A snapshot newer than the run's weights was left by an interrupted run with other settings.
  const manifest = path.join(snapshot, "manifest.json");
  const original = fs.readFileSync(manifest, "utf8");
  fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(original), savedAt: new Date(Date.now() + 60_000).toISOString() }));
  assert.match(plan().reason, /run test-electra-study-plan-bert-long4-s0's snapshot at step 2 is newer than its weights/);
  fs.writeFileSync(manifest, original);
  assert.equal(plan().run, true);

  // A missing snapshot: not cached, and runPretraining agrees (it trains again, which saves the snapshot).
  fs.rmSync(snapshot, { recursive: true });
  const missing = plan();
  assert.equal(missing.run, false);
  assert.match(missing.reason, /run test-electra-study-plan-bert-long4-s0 lacks its snapshot at step 2/);
  assert.deepEqual([pretrainingCacheStatus(missing.runs.electra).cached, pretrainingCacheStatus(missing.runs.bert).cached], [true, false], "only BERT's run is stale");
  const retrained = await runPretraining({ ...missing.runs.bert, log });
  assert.equal(retrained.loaded, false, "what the plan calls stale, runPretraining trains");
  retrained.model.dispose();
  assert.ok(fs.existsSync(manifest));
  assert.equal(plan().run, true);

  // Corrupt weights: loading would fail, so runPretraining would train; the plan says so.
  const weights = path.join(checkpointDir(`${prefix}-electra-g0.5-long4-s0`), "weights.bin");
  const buf = fs.readFileSync(weights);
  buf[0] ^= 0xff;
  fs.writeFileSync(weights, buf);
  const corrupt = plan();
  assert.equal(corrupt.run, false);
  assert.match(corrupt.reason, /electra-g0\.5-long4-s0 cannot be loaded: .*weights\.bin sha256/);
  assert.equal(pretrainingCacheStatus({ ...corrupt.runs.bert, force: true }).cached, false, "force: true always trains");
});
