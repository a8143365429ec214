import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { classificationLoss, maskedSequenceLoss, targetLogProbs } from "../lib/train/losses";
import { Embedding } from "../lib/nn/layers";

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test("classificationLoss equals tfjs's softmax cross-entropy, value and gradient", () => {
  tf.tidy(() => {
    const logits = tf.randomNormal([6, 5], 0, 2, "float32", 3) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 4, 2, 2, 1, 3], "int32");
    const ref = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), l) as tf.Scalar;
    close(classificationLoss(logits, labels).dataSync()[0], ref(logits).dataSync()[0]);
    const g1 = tf.grad((l) => classificationLoss(l as tf.Tensor2D, labels))(logits).dataSync();
    const g2 = tf.grad((l) => ref(l))(logits).dataSync();
    g1.forEach((v, i) => close(v, g2[i]));
  });
});

test("targetLogProbs picks each row's target; maskedSequenceLoss ignores weight-0 positions", () => {
  tf.tidy(() => {
    const logits = tf.tensor2d([[0, Math.log(3)], [Math.log(4), 0]]);
    const lp = targetLogProbs(logits, tf.tensor1d([1, 1], "int32")).arraySync();
    close(lp[0], Math.log(3 / 4));
    close(lp[1], Math.log(1 / 5));
    const seq = tf.randomNormal([2, 3, 4], 0, 1, "float32", 1) as tf.Tensor3D;
    const targets = tf.tensor2d([[1, 2, 3], [0, 1, 2]], [2, 3], "int32");
    const weights = tf.tensor2d([[1, 1, 0], [1, 0, 0]]);
    const loss = maskedSequenceLoss(seq, targets, weights).dataSync()[0];
    // Changing a weight-0 position's logits changes nothing.
    const bumped = seq.add(tf.tensor3d([[[0, 0, 0, 0], [0, 0, 0, 0], [9, 9, -9, 9]], [[0, 0, 0, 0], [5, -5, 5, 5], [1, 2, 3, 4]]]));
    close(maskedSequenceLoss(bumped as tf.Tensor3D, targets, weights).dataSync()[0], loss);
    const byHand = -(targetLogProbs(seq.reshape([6, 4]) as tf.Tensor2D, targets.reshape([6]) as tf.Tensor1D).arraySync() as number[])
      .filter((_, i) => [0, 1, 3].includes(i)).reduce((s, x) => s + x, 0) / 3;
    close(loss, byHand);
  });
});

test("an id outside the table is an error naming the id and the range, never a finite wrong loss", () => {
  tf.tidy(() => {
    const logits = tf.tensor2d([[2, 0, 0], [0, 0, 5]]);
    // The issue's numbers: before the check, [3, 2] gave 2.5134 (row 0 read row 1's first logit), [0, -1] 1.2395.
    assert.throws(() => classificationLoss(logits, tf.tensor1d([3, 2], "int32")), /classificationLoss: label 3 at \[0\] is outside 0\.\.2: labels must be class ids in \[0, 3\)/);
    assert.throws(() => classificationLoss(logits, tf.tensor1d([0, -1], "int32")), /classificationLoss: label -1 at \[1\] is outside 0\.\.2/);
    assert.throws(() => classificationLoss(logits, tf.tensor1d([0.5, 1])), /label 0\.5 at \[0\] is outside 0\.\.2/);
    // In-range labels still give the right value: -mean(log softmax) at (0, 0) and (1, 2).
    const lse = (r: number[]) => Math.log(r.reduce((s, x) => s + Math.exp(x), 0));
    close(classificationLoss(logits, tf.tensor1d([0, 2], "int32")).dataSync()[0], (lse([2, 0, 0]) - 2 + lse([0, 0, 5]) - 5) / 2);
    assert.throws(() => targetLogProbs(logits, tf.tensor1d([1, 3], "int32")), /targetLogProbs: target 3 at \[1\] is outside 0\.\.2/);
    // Per-position targets (MLM, tagging): the position is named in [batch, time].
    const seq = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    const w = tf.ones([2, 3]) as tf.Tensor2D;
    assert.throws(() => maskedSequenceLoss(seq, tf.tensor2d([[1, 2, 3], [0, 4, 2]], [2, 3], "int32"), w), /maskedSequenceLoss: target 4 at \[1, 1\] is outside 0\.\.3/);
    // Token ids into an embedding table.
    const emb = new Embedding({ vocabSize: 20, dim: 4 });
    assert.throws(() => emb.apply(tf.tensor2d([[1, 2], [25, 3]], [2, 2], "int32")), /Embedding: token id 25 at \[1, 0\] is outside 0\.\.19: encode text with the vocabulary/);
    assert.throws(() => emb.apply(tf.tensor1d([-1], "int32")), /token id -1 at \[0\] is outside 0\.\.19/);
    emb.dispose();
  });
});

test("shape mismatches in the losses name the shapes", () => {
  tf.tidy(() => {
    assert.throws(() => classificationLoss(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0, 1, 2], "int32")),
      /classificationLoss: labels has shape \[3\]; it must be \[n\] = \[2\] \(n from logits \[2, 3\]\)/);
    assert.throws(() => classificationLoss(tf.zeros([2, 3, 1]) as unknown as tf.Tensor2D, tf.tensor1d([0, 1], "int32")),
      /classificationLoss: logits has shape \[2, 3, 1\]; it must be \[n, classes\]/);
    assert.throws(() => maskedSequenceLoss(tf.zeros([2, 3, 4]) as tf.Tensor3D, tf.zeros([2, 3], "int32") as tf.Tensor2D, tf.ones([2, 4]) as tf.Tensor2D),
      /maskedSequenceLoss: weights has shape \[2, 4\]; it must be \[b, t\] = \[2, 3\] \(b and t from logits \[2, 3, 4\]\)/);
  });
});
