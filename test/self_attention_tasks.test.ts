// lib/tasks/self_attention.ts, lib/tasks/token_tagging.ts, lib/tasks/sst2_runs.ts and their views
// (lib/viz/attention.ts, token_tagging.ts, sst2.ts): notebook 03's runners on tiny cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  layersToConnect, pathLengths, catSatOnTheMat, checkAttentionRows, mostAttended, multiHeadWalkthrough,
  fusedColumnNames, shortSentences, encoderAttention,
} from "../lib/tasks/self_attention";
import { finalLoss, trainTagger, mlpRatioSweep, depthStudy, runTaggerConfigs } from "../lib/tasks/token_tagging";
import { lossTrend, trainSst2Classifier } from "../lib/tasks/sst2_runs";
import { xorTokens } from "../lib/tasks/toy_tokens";
import { MultiHeadAttention, scaledDotProductAttention, causalMask, paddingMask, prefixLmMask } from "../lib/nn/attention";
import { TransformerEncoder } from "../lib/nn/transformer";
import { RnnClassifier } from "../lib/models/rnn_classifier";
import { allowedPositions, attentionMap, pathLengthView } from "../lib/viz/attention";
import { taggerRunsTable, depthStudyView } from "../lib/viz/token_tagging";
import { sst2RunsView } from "../lib/viz/sst2";
import { captureDisplays } from "../lib/viz/display";

test("layersToConnect / pathLengths: Vaswani et al. Table 1's path lengths, k = 3", () => {
  // Plain CNN, k = 3: receptive field 2L + 1, so L = ceil(d / 2). Doubling dilation: 2^(L+1) − 1 ≥ d + 1.
  assert.deepEqual([1, 2, 4, 8, 64].map((distance) => layersToConnect({ distance })), [1, 1, 2, 4, 32]);
  assert.deepEqual([1, 2, 4, 8, 64].map((distance) => layersToConnect({ distance, dilationGrowth: 2 })), [1, 1, 2, 3, 6]);
  assert.equal(layersToConnect({ distance: 8, kernel: 5 }), 2);
  const rows = pathLengths({ distances: [4, 16] });
  assert.deepEqual(rows, [
    { distance: 4, rnn: 4, cnn: 2, dilatedCnn: 2, attention: 1 },
    { distance: 16, rnn: 16, cnn: 8, dilatedCnn: 4, attention: 1 },
  ]);
  assert.throws(() => layersToConnect({ distance: 0 }), /distance \(0\) must be a positive integer/);
  assert.throws(() => layersToConnect({ distance: 3, kernel: 1 }), /kernel \(1\) must be an integer >= 2/);
  assert.throws(() => layersToConnect({ distance: 3, dilationGrowth: 1.5 }), /dilationGrowth \(1.5\)/);
  assert.throws(() => pathLengths({ distances: [] }), /non-empty/);
  assert.throws(() => pathLengthView([]), /no rows/);
  const shown = captureDisplays(() => pathLengthView(rows)).outputs.filter((o) => o.text !== ""); // "" = the Plotly bundle
  assert.equal(shown.length, 2, "a table and a chart");
  assert.match(shown[0].text, /CNN k=3: layers/);
  assert.match(shown[1].text, /^\[line chart\] How far apart/);
});

test("catSatOnTheMat: hand-made queries make sat attend to cat; rows sum to 1", () => {
  const toy = catSatOnTheMat();
  assert.equal(toy.features.length, 6);
  assert.ok(toy.features.every((f) => f.length === toy.featureNames.length));
  assert.deepEqual([toy.queryWeights.length, toy.queryWeights[0].length], [5, 5]);
  const weights = tf.tidy(() => {
    const x = tf.tensor2d(toy.features);
    const q = tf.matMul(x, tf.tensor2d(toy.queryWeights)).reshape([1, 1, 6, 5]);
    const x4 = x.reshape([1, 1, 6, 5]);
    return scaledDotProductAttention(q, x4, x4).weights;
  });
  const w = (weights.arraySync() as number[][][][])[0][0];
  weights.dispose();
  checkAttentionRows({ weights: w, labels: toy.words });
  assert.equal(mostAttended({ weights: w, keys: toy.words, query: 2 }), "cat");
  // A zero query (cat) spreads evenly: softmax of equal scores.
  w[1].forEach((v) => assert.ok(Math.abs(v - 1 / 6) < 1e-6));
  assert.throws(() => checkAttentionRows({ weights: [[0.5, 0.4]], labels: ["sat"] }), /weights of sat sum to 0.9/);
  assert.throws(() => checkAttentionRows({ weights: [[1]], labels: [] }), /one label per query row/);
  assert.throws(() => mostAttended({ weights: w, keys: toy.words, query: 6 }), /query \(6\) is out of range: use 0..5/);
  assert.throws(() => attentionMap({ weights: w, queries: ["the"], title: "x" }), /6 rows of weights for 1 queries/);
  assert.throws(() => attentionMap({ weights: w, queries: toy.words, title: "x", scale: "log" as "auto" }), /scale "log" is unknown/);
});

test("multiHeadWalkthrough: the shapes of every step, equal to MultiHeadAttention, no tensors left", () => {
  const mha = new MultiHeadAttention({ width: 8, heads: 2, seed: 0 });
  const x = tf.randomNormal([3, 4, 8], 0, 1, "float32", 1) as tf.Tensor3D;
  const before = tf.memory().numTensors;
  const walk = multiHeadWalkthrough({ mha, x });
  assert.equal(tf.memory().numTensors, before, "the walkthrough disposes its intermediates");
  const shapes = Object.fromEntries(walk.steps.map((s) => [s.step, s.shape]));
  assert.equal(shapes["x · wQkv + bQkv"], "[3, 4, 24]");
  assert.equal(shapes["splitHeads(Q, 2)"], "[3, 2, 4, 4]");
  assert.equal(shapes["attention weights"], "[3, 2, 4, 4]");
  assert.equal(shapes["output projection"], "[3, 4, 8]");
  assert.equal(walk.steps.length, 9);
  assert.ok(walk.chunkDiff < 1e-5 && walk.outDiff < 1e-5, `${walk.chunkDiff} ${walk.outDiff}`);
  const wide = tf.zeros([1, 2, 6]) as tf.Tensor3D;
  assert.throws(() => multiHeadWalkthrough({ mha, x: wide }), /x has width 6 but mha has width 8/);
  assert.throws(() => multiHeadWalkthrough({ mha, x: tf.zeros([2, 8]) as unknown as tf.Tensor3D }), /\[batch, time, width\]/);
  [x, wide].forEach((t) => t.dispose());
  mha.dispose();
});

test("fusedColumnNames: Q | K | V blocks, each chunked into heads", () => {
  const names = fusedColumnNames({ width: 8, heads: 2 });
  assert.equal(names.length, 24);
  assert.deepEqual([names[0], names[3], names[4], names[8], names[23]], ["Q h0.0", "Q h0.3", "Q h1.0", "K h0.0", "V h1.3"]);
  assert.throws(() => fusedColumnNames({ width: 8, heads: 3 }), /heads \(3\) must divide width \(8\)/);
});

test("shortSentences and encoderAttention: the last layer's [heads, t, t] map of one sentence", () => {
  const sentences = [[1, 2], [1, 2, 3, 4], [1, 2, 3], [5, 6, 7, 8, 9], [1, 2, 3]].map((ids) => ({ ids }));
  assert.deepEqual(shortSentences({ sentences, minLength: 3, maxLength: 4, count: 2 }), [1, 2]);
  assert.deepEqual(shortSentences({ sentences, minLength: 3, maxLength: 5, count: 10 }), [1, 2, 3, 4]);
  assert.throws(() => shortSentences({ sentences, minLength: 5, maxLength: 3 }), /minLength \(5\) <= maxLength \(3\)/);
  const encoder = new TransformerEncoder({ vocabSize: 10, width: 8, heads: 2, layers: 2, maxLen: 8, dropout: 0, seed: 1 });
  const before = tf.memory().numTensors;
  const maps = encoderAttention({ encoder, ids: [1, 2, 3, 4, 5] });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual([maps.length, maps[0].length, maps[0][0].length], [2, 5, 5]);
  for (const head of maps) checkAttentionRows({ weights: head, labels: ["a", "b", "c", "d", "e"] });
  const first = encoderAttention({ encoder, ids: [1, 2, 3, 4, 5], layer: 0 });
  assert.notDeepEqual(first, maps, "layer 0 and the last layer differ");
  assert.throws(() => encoderAttention({ encoder, ids: [1, 2], layer: 2 }), /layer \(2\) is out of range: the encoder has 2 layers/);
  assert.equal(tf.memory().numTensors, before, "tensors are disposed when the layer is out of range too");
  assert.throws(() => encoderAttention({ encoder, ids: [] }), /non-empty/);
  encoder.dispose();
});

test("allowedPositions: masks as 1 = may attend", () => {
  const causal = causalMask(3);
  assert.deepEqual(allowedPositions({ mask: causal, batch: 1, queries: 3 }), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  const pad = paddingMask([[1, 1, 1], [1, 1, 0]]);
  assert.deepEqual(allowedPositions({ mask: pad, batch: 2, queries: 3, example: 1 }), [[1, 1, 0], [1, 1, 0], [1, 1, 0]]);
  const prefix = prefixLmMask(4, 2);
  assert.deepEqual(allowedPositions({ mask: prefix, batch: 1, queries: 4 }), [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]);
  assert.throws(() => allowedPositions({ mask: pad, batch: 2, queries: 3, example: 2 }), /example \(2\) is out of range: use 0..1/);
  assert.throws(() => allowedPositions({ mask: tf.zeros([3, 3]), batch: 1, queries: 3 }), /4-d additive mask/);
  [causal, pad, prefix].forEach((t) => t.dispose());
});

test("finalLoss and lossTrend: means of the last tenth / first and last windows", () => {
  const steps = Array.from({ length: 20 }, (_, i) => ({ loss: 20 - i }));
  assert.equal(finalLoss({ steps } as never), 1.5); // last 2 steps: 2, 1
  assert.equal(finalLoss({ steps: steps.slice(0, 3) } as never), 18); // at least one step
  assert.deepEqual(lossTrend({ history: { steps } as never, window: 5 }), { first: 18, last: 3 });
  assert.throws(() => finalLoss({ steps: [] }), /no steps/);
  assert.throws(() => lossTrend({ history: { steps } as never, window: 0 }), /window \(0\)/);
});

test("trainTagger / runTaggerConfigs / mlpRatioSweep / depthStudy: tiny runs, shapes, validation", async () => {
  const train = xorTokens({ count: 32, length: [2, 4], seed: 1 });
  const test = xorTokens({ count: 8, length: [2, 4], seed: 2 });
  const fit = { epochs: 1, batchSize: 16, learningRate: 1e-2 };
  const before = tf.memory().numTensors;
  const runs = await runTaggerConfigs({ configs: [{ name: "attention only", model: { layers: 1, mlp: false } }, { name: "with MLP", model: { layers: 1 } }], train, test, fit });
  assert.equal(tf.memory().numTensors, before, "models and trainers are disposed");
  assert.deepEqual(runs.map((r) => r.name), ["attention only", "with MLP"]);
  for (const r of runs) {
    assert.equal(r.history.steps.length, 2);
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && Number.isFinite(r.loss));
  }
  assert.ok(runs[1].params > runs[0].params, "the MLP adds parameters");
  await assert.rejects(trainTagger({ name: "x", train, test, fit: { ...fit, epochs: 0 } }), /fit.epochs \(0\) must be a positive integer/);
  await assert.rejects(trainTagger({ name: "x", train: [], test, fit }), /train must be a non-empty array/);
  await assert.rejects(trainTagger({ name: "", train, test, fit }), /name must be a non-empty string/);

  const parity = xorTokens({ count: 16, length: 1, bits: 3, seed: 1 });
  const sweep = await mlpRatioSweep({ ratios: [1, 2], seeds: [0], width: 8, bits: 3, train: parity, test: parity, fit });
  assert.deepEqual(sweep.rows.map((r) => r["hidden units"]), [8, 16]);
  assert.ok(sweep.rows[1].parameters > sweep.rows[0].parameters);
  assert.equal(sweep.rows[0]["token accuracy (mean)"], sweep.runs[0][0].accuracy);
  await assert.rejects(mlpRatioSweep({ ratios: [0], train: parity, test: parity, fit }), /ratios \[0\] must be positive integers/);

  const study = await depthStudy({ configs: [{ name: "post", residual: true, norm: "post" }, { name: "none", residual: false, norm: "none" }], depth: 3, probeSize: 4, train, test, fit });
  assert.equal(study.runs.length, 2);
  assert.deepEqual(study.initialGradients.map((g) => g.norms.length), [3, 3]);
  assert.ok(study.initialGradients.every((g) => g.norms.every((n) => n > 0 && Number.isFinite(n))));
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(depthStudy({ configs: [], depth: 3, train, test, fit }), /configs must be a non-empty array/);
  assert.throws(() => depthStudyView(study, { depth: 4 }), /depth \(4\) must equal the number of blocks measured \(3\)/);
  const shown = captureDisplays(() => {
    depthStudyView(study, { depth: 3 });
    taggerRunsTable(runs, "t");
  }).outputs.filter((o) => o.text !== ""); // "" = the Plotly bundle
  assert.equal(shown.length, 5, "table + three charts, and one table");
  assert.match(shown[0].text, /‖gradient‖ at block 2, init/);
  assert.throws(() => taggerRunsTable([], "t"), /no runs/);
});

test("trainSst2Classifier and sst2RunsView: validation errors name the fix", async () => {
  const model = new RnnClassifier({ vocabSize: 5, embedDim: 4, hidden: 4, maxLen: 8, seed: 1 });
  const split = { raw: [], tokens: [], encoded: [{ ids: [1, 2], label: 0 }] };
  const data = { train: split, val: split, dev: split, vocab: null } as never;
  await assert.rejects(trainSst2Classifier({ name: "x", model, data, learningRate: 0, epochs: 1 }), /learningRate \(0\) must be a positive number/);
  await assert.rejects(trainSst2Classifier({ name: "x", model, data, learningRate: 1e-3, epochs: 1.5 }), /epochs \(1.5\)/);
  await assert.rejects(trainSst2Classifier({ name: "x", model: {} as never, data, learningRate: 1e-3, epochs: 1 }), /must be a SentenceClassifier/);
  await assert.rejects(trainSst2Classifier({ name: "x", model, data: { ...split } as never, learningRate: 1e-3, epochs: 1 }), /non-empty train, val and dev/);
  const run = { name: "r", model, pred: [0, 1], history: { seconds: 1, evals: [], steps: [] } } as never;
  assert.throws(() => sst2RunsView({ runs: [run], gold: [0], majority: { label: 0, accuracy: 1 }, title: "t" }), /2 predictions for 1 gold labels/);
  assert.throws(() => sst2RunsView({ runs: [], gold: [0], majority: { label: 0, accuracy: 1 }, title: "t" }), /no runs/);
  model.dispose();
});
