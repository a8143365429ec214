// lib/analysis: the statistics, on inputs whose answers are known (hand-built maps, planted features) or
// computed independently (numpy, committed in fixtures/analysis_reference.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import {
  Features, Representations, toFeatures, toRows, linearCka, ckaMatrix, pcaProjection, umapProjection, trainProbe,
  controlLabels, probeWithControl, headStatistics, extremeHead, selfSimilarity, sentenceVectors, selectTokens,
  tokenFeatures, negationScopeLabeler, positionLabeler, previousWordLabeler, splitByGroup, layerStates, attentionOf,
  probeLayers, givenLabeler,
} from "../lib/analysis";
import { Rng } from "../lib/random";
import { Vocab, CLS_ID } from "../lib/data/vocab";

const reference = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "analysis_reference.json"), "utf8"));

// The same formulas as fixtures/analysis_reference.py.
function referenceData(): { x: Features; y: Features; z: Features } {
  const n = 40;
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(0.37 * i + 1.1 * j) + 0.5 * Math.cos(0.23 * i * j + j)));
  const x32 = x.map((r) => r.map(Math.fround));
  const y = x32.map((r, i) => Array.from({ length: 4 }, (_, k) => Math.tanh(r.reduce((s, v, j) => s + v * Math.cos(j + 2 * k), 0)) + 0.1 * Math.sin(i * k)));
  const z = Array.from({ length: n }, (_, i) => Array.from({ length: 5 }, (_, k) => Math.sin(7.3 * i * i + 3.1 * k)));
  return { x: toFeatures(x), y: toFeatures(y), z: toFeatures(z) };
}

function gaussian(rows: number, cols: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Array.from({ length: rows }, () => Array.from({ length: cols }, normal));
}

/** A random orthogonal matrix (QR of a Gaussian one, by ml-matrix). */
function orthogonal(d: number, seed: number): number[][] {
  const q = new Matrix(gaussian(d, d, seed));
  return new SingularValueDecomposition(q).leftSingularVectors.to2DArray();
}

const matmul = (a: number[][], b: number[][]) => a.map((r) => b[0].map((_, k) => r.reduce((s, v, j) => s + v * b[j][k], 0)));

test("linear CKA is 1 under an orthogonal transform and an isotropic scaling, not under an anisotropic one", () => {
  const x = gaussian(60, 8, 1);
  const q = orthogonal(8, 2);
  const fx = toFeatures(x);
  assert.ok(Math.abs(linearCka(fx, toFeatures(matmul(x, q))) - 1) < 1e-6);
  assert.ok(Math.abs(linearCka(fx, toFeatures(x.map((r) => r.map((v) => 3.7 * v)))) - 1) < 1e-6);
  assert.ok(Math.abs(linearCka(fx, toFeatures(matmul(x, q).map((r) => r.map((v) => -0.2 * v + 5)))) - 1) < 1e-6, "a shift is centred away");
  const stretched = linearCka(fx, toFeatures(x.map((r) => r.map((v, j) => (j === 0 ? 10 * v : v)))));
  assert.ok(stretched < 0.9, `stretching one axis must lower CKA, got ${stretched}`);
  const unrelated = linearCka(fx, toFeatures(gaussian(60, 8, 99)));
  assert.ok(unrelated < 0.35, `independent features: CKA ${unrelated}`);
});

test("linear CKA matches numpy's Gram-matrix computation (committed numbers)", () => {
  const { x, y, z } = referenceData();
  const before = tf.memory().numTensors;
  for (const [got, want] of [[linearCka(x, y), reference.cka.xy], [linearCka(x, z), reference.cka.xz], [linearCka(y, z), reference.cka.yz]]) {
    assert.ok(Math.abs(got - want) < 1e-6, `${got} vs numpy ${want}`);
  }
  const m = ckaMatrix([x, y], [x, y, z]);
  assert.equal(m.length, 2);
  assert.ok(Math.abs(m[0][0] - 1) < 1e-6 && Math.abs(m[1][0] - reference.cka.xy) < 1e-6 && Math.abs(m[1][2] - reference.cka.yz) < 1e-6);
  assert.equal(tf.memory().numTensors, before, "CKA leaves no tensor behind");
});

test("linear CKA rejects mismatched, too small and constant inputs with a clear error", () => {
  const { x, y } = referenceData();
  assert.throws(() => linearCka(x, toFeatures(toRows(y).slice(0, 10))), /40 and 10 rows: they must hold the same examples/);
  assert.throws(() => linearCka(toFeatures([[1, 2]]), toFeatures([[3]])), /at least 2 examples/);
  assert.throws(() => linearCka(x, toFeatures(toRows(x).map(() => [1, 2, 3]))), /zero variance/);
  assert.throws(() => toFeatures([]), /no rows/);
  assert.throws(() => toFeatures([[1, 2], [3]]), /row 1 has 1 values/);
});

test("PCA (ml-pca) matches numpy's SVD and ml-matrix's SVD of the centred data", () => {
  const { x } = referenceData();
  const p = pcaProjection({ features: x, components: 2 });
  p.explainedVariance!.forEach((v, k) => assert.ok(Math.abs(v - reference.pca.explainedVariance[k]) < 1e-6, `component ${k}: ${v}`));
  // Components are defined up to sign: align each with the reference's convention.
  const signs = [0, 1].map((k) => {
    const col = p.points.map((r) => r[k]);
    const j = col.reduce((best, v, i) => (Math.abs(v) > Math.abs(col[best]) ? i : best), 0);
    return Math.sign(col[j]);
  });
  p.points.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(signs[k] * v - reference.pca.projection[i][k]) < 1e-5, `row ${i}, component ${k}`)));
  // The library's own SVD, directly: projections = U·S.
  const rows = toRows(x);
  const means = rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  const svd = new SingularValueDecomposition(new Matrix(rows.map((r) => r.map((v, j) => v - means[j]))));
  const us = svd.leftSingularVectors.to2DArray().map((r) => r.slice(0, 2).map((v, k) => v * svd.diagonal[k]));
  p.points.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(Math.abs(v) - Math.abs(us[i][k])) < 1e-5)));
  assert.throws(() => pcaProjection({ features: x, components: 7 }), /components \(7\) must be an integer in 1\.\.6/);
});

test("UMAP (umap-js) is seeded and keeps two far-apart clusters apart", async () => {
  const a = gaussian(25, 5, 3);
  const b = gaussian(25, 5, 4).map((r) => r.map((v) => v + 20));
  const f = toFeatures([...a, ...b]);
  const one = await umapProjection({ features: f, nNeighbors: 8, nEpochs: 100, seed: 7 });
  const two = await umapProjection({ features: f, nNeighbors: 8, nEpochs: 100, seed: 7 });
  assert.deepEqual(one.points, two.points);
  assert.equal(one.points.length, 50);
  // Nearest neighbour of each point in 2-D is in its own cluster.
  const cluster = (i: number) => (i < 25 ? 0 : 1);
  let pure = 0;
  one.points.forEach((p, i) => {
    let best = -1;
    let bestD = Infinity;
    one.points.forEach((q, j) => {
      const d = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2;
      if (j !== i && d < bestD) (bestD = d), (best = j);
    });
    if (cluster(best) === cluster(i)) pure++;
  });
  assert.equal(pure, 50);
});

test("a linear probe recovers a planted linear feature and not a random labelling", async () => {
  const x = gaussian(900, 16, 5);
  const w = gaussian(1, 16, 6)[0];
  const planted = x.map((r) => (r.reduce((s, v, j) => s + v * w[j], 0) > 0 ? 1 : 0));
  const rng = new Rng(8);
  const random = x.map(() => rng.int(2));
  const f = toFeatures(x);
  const split = (labels: number[]) => ({
    train: { features: toFeatures(x.slice(0, 600)), labels: labels.slice(0, 600) },
    test: { features: toFeatures(x.slice(600)), labels: labels.slice(600) },
  });
  const before = tf.memory().numTensors;
  const good = await trainProbe({ ...split(planted), epochs: 20 });
  const bad = await trainProbe({ ...split(random), epochs: 20 });
  assert.equal(tf.memory().numTensors, before, "probe training leaves no tensor behind");
  assert.ok(good.testAccuracy >= 0.93, `planted feature: ${good.testAccuracy}`);
  assert.ok(bad.testAccuracy <= 0.6, `random labels: ${bad.testAccuracy}`);
  assert.ok(good.majority < 0.65);
  assert.equal(f.rows, 900);
  assert.throws(() => splitByGroup([1, 1, 1]), /at least 2 groups/);
  await assert.rejects(trainProbe({ train: { features: f, labels: planted.slice(1) }, test: split(planted).test }), /900 feature rows but 899 labels/);
  await assert.rejects(
    trainProbe({ train: split(planted).train, test: { features: toFeatures(gaussian(3, 4, 1)), labels: [0, 1, 0] } }),
    /width 16 but test features 4/,
  );
});

test("control tasks: one random label per type from the task's distribution; selectivity separates structure from memory", async () => {
  const types = ["a", "b", "a", "c", "b", "a"];
  const control = controlLabels({ types, labels: [0, 1, 1, 1, 1, 1], seed: 3 });
  assert.equal(control[0], control[2]);
  assert.equal(control[0], control[5]);
  assert.equal(control[1], control[4]);
  // Draws follow the label distribution: with 90% ones, most of 500 types get label 1.
  const many = controlLabels({ types: Array.from({ length: 500 }, (_, i) => i), labels: Array.from({ length: 500 }, (_, i) => (i % 10 === 0 ? 0 : 1)), seed: 1 });
  const ones = many.filter((y) => y === 1).length / 500;
  assert.ok(ones > 0.85 && ones < 0.95, `share of ones ${ones}`);

  // Structure: the label is a linear function of the features and every example is its own type, so the
  // control (random per type) is unlearnable on test: high selectivity.
  const x = gaussian(600, 8, 11);
  const labels = x.map((r) => (r[0] + r[1] > 0 ? 1 : 0));
  const ids = x.map((_, i) => i);
  const half = (xs: number[][], ys: number[], ts: number[], a: number, b: number) => ({ features: toFeatures(xs.slice(a, b)), labels: ys.slice(a, b), types: ts.slice(a, b) });
  const structured = await probeWithControl({ train: half(x, labels, ids, 0, 400), test: half(x, labels, ids, 400, 600), epochs: 15 });
  assert.ok(structured.selectivity > 0.3, `selectivity ${structured.selectivity} (task ${structured.testAccuracy}, control ${structured.controlAccuracy})`);

  // Memory: 12 types seen in train and test, features = a noisy code of the type, the label a function of the
  // type only. The control is just as learnable as the task: selectivity near 0.
  const rng = new Rng(4);
  const codes = gaussian(12, 8, 12);
  const typeOf = Array.from({ length: 600 }, () => rng.int(12));
  const feats = typeOf.map((t) => codes[t].map((v) => v + 0.05 * (rng.next() - 0.5)));
  const byType = typeOf.map((t) => (t % 3 === 0 ? 1 : 0));
  const memory = await probeWithControl({ train: half(feats, byType, typeOf, 0, 400), test: half(feats, byType, typeOf, 400, 600), kind: "mlp", epochs: 30 });
  assert.ok(memory.controlAccuracy > 0.85, `control accuracy ${memory.controlAccuracy}`);
  assert.ok(Math.abs(memory.selectivity) < 0.15, `selectivity ${memory.selectivity}`);
});

// A hand-built representation: one sentence [CLS] w10 w11 "," w13, width 2, three heads in one layer.
function handBuilt(): Representations {
  const seq = [CLS_ID, 10, 11, 12, 13];
  const len = seq.length;
  const map = new Float32Array(3 * len * len);
  for (let i = 0; i < len; i++) {
    map[(0 * len + i) * len + Math.max(0, i - 1)] = 1; // head 0: the previous token (row 0: itself)
    for (let j = 0; j < len; j++) map[(1 * len + i) * len + j] = 1 / len; // head 1: uniform
    map[(2 * len + i) * len + 0] = 1; // head 2: [CLS]
  }
  const states = [toFeatures(seq.map((id, i) => [id, i])), toFeatures(seq.map((_, i) => [i * i, 1]))];
  return { model: "hand-built", kind: "transformer", layerNames: ["embeddings", "layer 1"], prefix: 1, sequences: [seq], offsets: [0], states, attentions: { heads: 3, maps: [[map]] } };
}

test("head statistics on hand-built attention maps: previous-token, uniform and [CLS] heads", () => {
  const s = headStatistics({ representations: handBuilt(), punctuation: [12] });
  const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-6, `${what}: ${got} vs ${want}`);
  // [head, statistic, expected, why]: head 0 = previous token, 1 = uniform, 2 = [CLS].
  const expected: [number, keyof typeof s.stats, number, string][] = [
    [0, "entropy", 0, "one-hot rows"],
    [1, "entropy", Math.log(5), "uniform rows"],
    [2, "entropy", 0, "one-hot rows"],
    [0, "toPrevious", 1, "by construction"],
    [1, "toPrevious", 0.2, "1/len"],
    [2, "toPrevious", 0.25, "only query 1's previous token is [CLS]"],
    [0, "toCls", 0.4, "queries 0 and 1"],
    [2, "toCls", 1, "by construction"],
    [0, "toPunctuation", 0.2, "query 4 looks at ','"],
    [1, "toNext", 0.2, "1/len"],
    [0, "toNext", 0, "never"],
    [0, "toSelf", 0.2, "query 0"],
    [0, "distance", 0.8, "distance 1 for queries 1..4"],
    [1, "distance", 1.6, "mean of 2, 1.4, 1.2, 1.4, 2"],
    [2, "distance", 2, "mean of 0..4"],
    [2, "toSep", 0, "no [SEP] in the sentence"],
  ];
  for (const [head, stat, want, why] of expected) near(s.stats[stat][0][head], want, `head ${head} ${stat} (${why})`);
  near(s.uniformEntropy, Math.log(5), "uniform baseline");
  assert.deepEqual(extremeHead(s, "toPrevious"), { layer: 1, head: 0, value: 1 });
  assert.equal(extremeHead(s, "entropy", "max").head, 1);
  assert.deepEqual(attentionOf(handBuilt(), { layer: 1, sentence: 0 })[2].map((row) => row[0]), [1, 1, 1, 1, 1]);
  assert.throws(() => attentionOf(handBuilt(), { layer: 2, sentence: 0 }), /attention layer 2 is out of range for hand-built: use 1\.\.1/);
  assert.throws(() => headStatistics({ representations: { ...handBuilt(), attentions: undefined } }), /attention: true/);
});

test("pooling and token selection read real words only; layer indices are checked", () => {
  const r = handBuilt();
  assert.deepEqual(Array.from(sentenceVectors(r, { layer: 0, pooling: "mean" }).data), [11.5, 2.5]); // words, not [CLS]
  assert.deepEqual(Array.from(sentenceVectors(r, { layer: 0, pooling: "first" }).data), [CLS_ID, 0]);
  assert.deepEqual(Array.from(sentenceVectors(r, { layer: 1, pooling: "last" }).data), [16, 1]);
  const sel = selectTokens(r, positionLabeler({ classes: 3 }));
  assert.deepEqual(sel.labels, [0, 1, 2], "the fourth word is beyond the 3 classes: left out");
  assert.deepEqual(sel.wordId, [10, 11, 12]);
  assert.deepEqual(Array.from(tokenFeatures(r, sel, 1).data), [1, 1, 4, 1, 9, 1]);
  assert.deepEqual(selectTokens(r, previousWordLabeler({ words: [10, 12] })).labels, [0, 1]);
  assert.deepEqual(selectTokens(r, givenLabeler([[1, 0, null, 1]])).labels, [1, 0, 1]);
  assert.throws(() => layerStates(r, 2), /layer 2 is out of range for hand-built: it has layers 0\.\.1/);
  assert.throws(() => sentenceVectors(r, { layer: -1 }), /layer -1 is out of range/);
  assert.throws(() => selectTokens(r, () => null), /kept no token/);
});

test("negation scope: from after the cue to the next punctuation or 'but'; sentences without a cue are skipped", () => {
  const vocab = Vocab.build([["it", "is", "n't", "funny", ",", "but", "not", "bad", "at", "all", "good"]]);
  const ids = (ws: string[]) => vocab.encode(ws);
  const label = negationScopeLabeler({ vocab });
  const words = ids(["it", "is", "n't", "funny", ",", "but", "not", "bad", "at", "all"]);
  assert.deepEqual(words.map((_, i) => label(words, i, 0)), [0, 0, null, 1, 0, 0, null, 1, 1, 1]);
  // BERT's pre-tokenizer splits "isn't" into "isn ' t": the three pieces are the cue.
  const bert = Vocab.build([["it", "isn", "'", "t", "funny", "."]]);
  const split = bert.encode(["it", "isn", "'", "t", "funny", ".", "it"]);
  const bertLabel = negationScopeLabeler({ vocab: bert });
  assert.deepEqual(split.map((_, i) => bertLabel(split, i, 0)), [0, null, null, null, 1, 0, 0]);
  const plain = ids(["it", "is", "good"]);
  assert.deepEqual(plain.map((_, i) => label(plain, i, 1)), [null, null, null]);
});

test("self-similarity: a static layer scores 1, a contextual one lower; the anisotropy baseline catches a common direction", () => {
  // Word 5 in 6 sentences. Layer 0: the same vector every time (static). Layer 1: a shared direction + noise.
  const rng = new Rng(2);
  const sequences = Array.from({ length: 6 }, (_, s) => [5, 20 + s, 30 + s]);
  const rows0: number[][] = [];
  const rows1: number[][] = [];
  sequences.forEach((seq) => seq.forEach((id) => {
    rows0.push(id === 5 ? [1, 2, 3, 4] : [rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5]);
    rows1.push([10 + rng.next(), 10 + rng.next(), 10 + rng.next(), 10 + rng.next()]);
  }));
  const r: Representations = {
    model: "toy", kind: "transformer", layerNames: ["embeddings", "layer 1"], prefix: 0, sequences,
    offsets: sequences.map((_, s) => 3 * s), states: [toFeatures(rows0), toFeatures(rows1)],
  };
  const res = selfSimilarity({ representations: r, minContexts: 5, words: [5], baselinePairs: 500 });
  assert.equal(res.words[0].contexts, 6);
  assert.ok(Math.abs(res.layers[0].selfSimilarity - 1) < 1e-6);
  assert.ok(res.layers[0].anisotropy < 0.5, `layer 0 anisotropy ${res.layers[0].anisotropy}`);
  assert.ok(res.layers[1].anisotropy > 0.99, "a shared direction makes every pair similar");
  assert.ok(Math.abs(res.layers[1].adjusted) < 0.01, `adjusted ${res.layers[1].adjusted}`);
  assert.throws(() => selfSimilarity({ representations: r, minContexts: 7 }), /no word occurs in 7 or more sentences/);
});

test("probeLayers: one row per layer with control accuracy; a planted sentence label is found where it was planted", async () => {
  // 120 sentences of 3 words; layer 1 carries the label in its first coordinate, layer 0 does not.
  const rng = new Rng(6);
  const labels = Array.from({ length: 120 }, () => rng.int(2));
  const sequences = labels.map(() => [7 + rng.int(30), 7 + rng.int(30), 7 + rng.int(30)]);
  const rows0: number[][] = [];
  const rows1: number[][] = [];
  sequences.forEach((seq, s) => seq.forEach(() => {
    rows0.push([rng.next(), rng.next(), rng.next()]);
    rows1.push([labels[s] * 2 - 1 + 0.3 * (rng.next() - 0.5), rng.next(), rng.next()]);
  }));
  const r: Representations = {
    model: "toy", kind: "rnn", layerNames: ["embeddings", "rnn"], prefix: 0, sequences,
    offsets: sequences.map((_, s) => 3 * s), states: [toFeatures(rows0), toFeatures(rows1)],
  };
  const rows = await probeLayers({ representations: r, task: { name: "planted", level: "sentence", labels }, epochs: 20 });
  assert.deepEqual(rows.map((x) => x.layer), [0, 1]);
  assert.ok(rows[1].accuracy >= 0.95 && rows[0].accuracy <= 0.75, `accuracies ${rows.map((x) => x.accuracy)}`);
  assert.ok(rows[1].selectivity! > 0.25, `selectivity ${rows[1].selectivity}`);
  assert.equal(rows[0].trainExamples + rows[0].testExamples, 120);
  await assert.rejects(probeLayers({ representations: r, task: { name: "x", level: "sentence", labels: [1] } }), /1 labels for 120 sentences/);
  await assert.rejects(probeLayers({ representations: r, task: { name: "x", level: "sentence", labels }, layers: [3] }), /layer 3 is out of range/);
});
