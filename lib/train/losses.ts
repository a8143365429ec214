// Losses shared by every model. Each returns a scalar averaged over the examples (or tokens) that count.
//
// Cross-entropy is written as log-softmax + picking each target's log-probability, without building a one-hot
// [n, V] matrix: one exp per logit instead of tf.losses.softmaxCrossEntropy's three, and a gather whose
// gradient is a scatter (a fast kernel in lib/engine) instead of a dense [n, V] multiply.
import * as tf from "@tensorflow/tfjs";

/** log p(target) for each row: logits [n, V], targets [n] int32 -> [n] */
export function targetLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, v] = logits.shape;
    if (targets.shape[0] !== n) throw new Error(`targets (${targets.shape[0]}) must have one entry per row of logits (${n}).`);
    const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), targets.toInt());
    return tf.gather(tf.logSoftmax(logits).reshape([n * v]), flatIndex) as tf.Tensor1D;
  });
}

/** Mean cross-entropy of integer labels under softmax(logits). logits: [n, k], labels: [n] int32 -> scalar */
export function classificationLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(targetLogProbs(logits, labels))) as tf.Scalar);
}

/**
 * Cross-entropy per position, averaged over positions where `weights` is 1 (padding and unchosen positions
 * have weight 0, so they never move the loss). logits: [b, t, V], targets: [b, t] int32, weights: [b, t].
 */
export function maskedSequenceLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const picked = targetLogProbs(logits.reshape([b * t, v]) as tf.Tensor2D, targets.reshape([b * t]) as tf.Tensor1D);
    const w = weights.reshape([b * t]).toFloat();
    return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}
