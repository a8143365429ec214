import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { classificationLoss, maskedSequenceLoss, targetLogProbs } from "../lib/train/losses";

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
