import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TransformerClassifier, withCls } from "../lib/models/transformer_classifier";
import { LabelledIds } from "../lib/models/classifier";
import { TransformerEncoder } from "../lib/nn/transformer";
import { CLS_ID } from "../lib/data/vocab";
import { Trainer } from "../lib/train/trainer";
import { Rng } from "../lib/random";

const small = { vocabSize: 30, width: 16, heads: 2, layers: 1, mlpRatio: 2, dropout: 0 };

test("withCls puts [CLS] first and keeps maxLen tokens in all", () => {
  assert.deepEqual(withCls([9, 8, 7], 8), [CLS_ID, 9, 8, 7]);
  assert.deepEqual(withCls([9, 8, 7, 6, 5], 4), [CLS_ID, 9, 8, 7]);
});

for (const pooling of ["cls", "mean"] as const) {
  test(`TransformerClassifier (${pooling} pooling): a sentence alone and padded in a batch gets the same logits`, () => {
    const model = new TransformerClassifier({ ...small, pooling, seed: 3 });
    const sentence = { ids: [7, 8, 9, 10], label: 1 };
    const longer = { ids: [11, 12, 13, 14, 15, 16, 17, 18, 19], label: 0 };
    const alone = model.collate([sentence]);
    const padded = model.collate([longer, sentence]);
    // cls pooling prepends [CLS]: the batch is 1 + 9 wide and row 1 starts with CLS_ID.
    const width = pooling === "cls" ? 10 : 9;
    assert.equal(padded.ids.shape[1], width);
    assert.equal((padded.ids.arraySync() as number[][])[1][0], pooling === "cls" ? CLS_ID : 7);
    const a = tf.tidy(() => model.logits(alone, false).arraySync());
    const b = tf.tidy(() => model.logits(padded, false).arraySync());
    a[0].forEach((v, i) => assert.ok(Math.abs(v - b[1][i]) < 1e-5, `${v} vs ${b[1][i]}`));
    // ...and the two sentences really get different scores (the check above is not vacuous).
    assert.ok(Math.abs(b[0][0] - b[1][0]) > 1e-4);
    [alone, padded].forEach((x) => Object.values(x).forEach((t) => t.dispose()));
    model.dispose();
  });
}

test("TransformerClassifier built around an existing encoder uses (and trains) that encoder", () => {
  const encoder = new TransformerEncoder({ ...small, maxLen: 16, seed: 1 });
  const clf = TransformerClassifier.fromEncoder(encoder, { numClasses: 3, seed: 2 });
  assert.equal(clf.encoder, encoder);
  assert.equal(clf.maxLen, 16);
  const encVars = new Set(encoder.parameters());
  const own = clf.parameters().filter((v) => !encVars.has(v));
  assert.equal(own.length, 2, "only the head's weight and bias are new");
  assert.equal(clf.paramCount(), encoder.paramCount() + 16 * 3 + 3);
  assert.equal(clf.config().width, 16);
  assert.throws(() => TransformerClassifier.fromEncoder(encoder, { maxLen: 32 }), /maxLen \(32\) exceeds/);
  assert.throws(() => new TransformerClassifier({ ...small, pooling: "max" as never }), /pooling "max" is unknown/);
  assert.throws(() => new TransformerClassifier({ width: 16 }), /needs vocabSize/);
  clf.dispose();
});

test("TransformerClassifier learns a tiny task with the Trainer (does token 9 occur?)", async () => {
  const rng = new Rng(5);
  const example = (): LabelledIds => {
    const ids = Array.from({ length: 3 + rng.int(5) }, () => 10 + rng.int(18));
    const label = rng.int(2);
    if (label) ids[rng.int(ids.length)] = 9;
    return { ids, label };
  };
  const train = Array.from({ length: 192 }, example);
  const testSet = Array.from({ length: 100 }, example);
  const model = new TransformerClassifier({ ...small, pooling: "cls", seed: 4 });
  const trainer = new Trainer(model, { batchSize: 16, epochs: 4, learningRate: 5e-3, progress: false, plot: false });
  const before = trainer.score(testSet, "accuracy");
  await trainer.fit(train);
  const after = trainer.score(testSet, "accuracy");
  assert.ok(after >= 0.9, `accuracy ${after} (before training ${before})`);
  model.dispose();
});
