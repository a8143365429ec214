import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TokenTagger, TokenExample } from "../lib/models/token_tagger";
import { xorTokens, xorFeatureDim, positiveRate } from "../lib/tasks/toy_tokens";
import { Trainer } from "../lib/train/trainer";

test("xorTokens: labels are the XOR of signs, seeded, balanced, lengths in range", () => {
  const a = xorTokens({ count: 200, length: [3, 7], seed: 5 });
  const b = xorTokens({ count: 200, length: [3, 7], seed: 5 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, xorTokens({ count: 200, length: [3, 7], seed: 6 }));
  for (const e of a) {
    assert.ok(e.features.length >= 3 && e.features.length <= 7);
    e.features.forEach((f, i) => {
      assert.equal(f.length, 2);
      assert.equal(e.labels[i], f[0] * f[1] < 0 ? 1 : 0);
    });
  }
  const rate = positiveRate(a);
  assert.ok(rate > 0.4 && rate < 0.6, `positive rate ${rate}`);
  // Neighbour rule: sign of a_i against sign of a_{i-1}; the first token compares with "positive".
  for (const e of xorTokens({ count: 50, rule: "neighbour", noiseDims: 3, seed: 1 })) {
    e.features.forEach((f, i) => {
      assert.equal(f.length, xorFeatureDim({ noiseDims: 3 }));
      const prevNeg = i > 0 && e.features[i - 1][0] < 0;
      assert.equal(e.labels[i], (f[0] < 0) !== prevNeg ? 1 : 0);
    });
  }
  // k-bit parity.
  for (const e of xorTokens({ count: 50, bits: 3, length: 1, seed: 2 })) {
    const negatives = e.features[0].filter((x) => x < 0).length;
    assert.equal(e.labels[0], negatives % 2);
  }
  assert.throws(() => xorTokens({ count: 5, rule: "nope" as never }), /rule "nope" is unknown/);
  assert.throws(() => xorTokens({ count: 5, length: [5, 2] }), /length \(max\) \(2\)/);
  assert.throws(() => xorTokens({ count: 5, rule: "neighbour", bits: 3 }), /bits \(3\) applies to rule "self" only/);
});

test("TokenTagger: collate pads features, masks and labels; logits are [batch, t, classes]", () => {
  const m = new TokenTagger({ inputDim: 2, width: 8, heads: 2, layers: 1, seed: 1 });
  const examples: TokenExample[] = [
    { features: [[1, 2], [3, 4], [5, 6]], labels: [1, 0, 1] },
    { features: [[7, 8]], labels: [1] },
  ];
  const batch = m.collate(examples);
  assert.deepEqual(batch.features.shape, [2, 3, 2]);
  assert.deepEqual(batch.mask.arraySync(), [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(batch.labels.arraySync(), [[1, 0, 1], [1, 0, 0]]);
  assert.deepEqual(batch.features.arraySync()[1], [[7, 8], [0, 0], [0, 0]]);
  const logits = m.logits(batch, false);
  assert.deepEqual(logits.shape, [2, 3, 2]);
  assert.equal(m.predictTokens(examples).map((p) => p.length).join(","), "3,1");
  logits.dispose();
  Object.values(batch).forEach((t) => t.dispose());
  assert.throws(() => m.collate([{ features: [[1, 2, 3]], labels: [0] }]), /expects inputDim 2/);
  assert.throws(() => m.collate([{ features: [[1, 2]], labels: [0, 1] }]), /one label per token/);
  assert.throws(() => m.collate([{ features: [[1, 2]], labels: [2] }]), /label 2 is not a class id/);
  m.dispose();
  assert.throws(() => new TokenTagger({ inputDim: 2, width: 8, heads: 3 }), /heads \(3\) must divide width \(8\)/);
  assert.throws(() => new TokenTagger({ inputDim: 2, positions: "rotary" as never }), /positions "rotary" is unknown/);
});

for (const norm of ["post", "pre", "none"] as const) {
  test(`TokenTagger (${norm}-LN): a sequence alone and padded in a batch gets the same logits`, () => {
    const m = new TokenTagger({ inputDim: 3, width: 8, heads: 2, layers: 2, norm, seed: 2 });
    const [short, long] = xorTokens({ count: 2, length: [3, 9], noiseDims: 1, seed: 4 }).sort((x, y) => x.labels.length - y.labels.length);
    assert.ok(short.labels.length < long.labels.length);
    const alone = m.collate([short]);
    const padded = m.collate([long, short]);
    const a = tf.tidy(() => m.logits(alone, false).arraySync()[0]);
    const b = tf.tidy(() => m.logits(padded, false).arraySync()[1]);
    a.forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - b[i][c]) < 1e-4, `token ${i}: ${v} vs ${b[i][c]}`)));
    [alone, padded].forEach((x) => Object.values(x).forEach((t) => t.dispose()));
    m.dispose();
  });
}

test("XOR of a token's own features: attention-only stacks stay at chance, one block with an MLP solves it", async () => {
  // Isolated tokens and no layer norm: attention can only average a token with itself, so an attention-only
  // stack is a linear map of the features, however deep.
  const train = xorTokens({ count: 1024, length: 1, seed: 1 });
  const test = xorTokens({ count: 512, length: 1, seed: 2 });
  const accuracyOf = async (opts: { layers: number; mlp: boolean }) => {
    const m = new TokenTagger({ inputDim: xorFeatureDim(), width: 8, heads: 2, norm: "none", seed: 3, ...opts });
    const t = new Trainer(m, { epochs: 12, batchSize: 64, learningRate: 1e-2, progress: false, plot: false });
    await t.fit(train);
    const acc = m.tokenAccuracy(test);
    t.dispose();
    m.dispose();
    return acc;
  };
  const attentionOnly = [await accuracyOf({ layers: 1, mlp: false }), await accuracyOf({ layers: 3, mlp: false })];
  const withMlp = await accuracyOf({ layers: 1, mlp: true });
  for (const acc of attentionOnly) assert.ok(acc < 0.62, `attention-only accuracy ${acc} should be near chance`);
  assert.ok(withMlp > 0.9, `with MLP accuracy ${withMlp} should be > 0.9`);
});

test("gradientNorms: one finite norm per part, in model order", () => {
  const m = new TokenTagger({ inputDim: 2, width: 8, heads: 2, layers: 3, norm: "pre", seed: 1 });
  const norms = m.gradientNorms(xorTokens({ count: 8, seed: 1 }));
  assert.deepEqual(norms.map((n) => n.part), ["input", "positions", "layer0", "layer1", "layer2", "finalNorm", "head"]);
  for (const n of norms) assert.ok(Number.isFinite(n.norm) && n.norm > 0, `${n.part}: ${n.norm}`);
  const before = tf.memory().numTensors;
  m.gradientNorms(xorTokens({ count: 4, seed: 2 }));
  assert.equal(tf.memory().numTensors, before, "gradientNorms leaks no tensors");
  m.dispose();
});
