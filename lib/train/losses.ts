// Losses shared by every model. Each returns a scalar averaged over the examples (or tokens) that count.
import * as tf from "@tensorflow/tfjs";

/** Mean cross-entropy of integer labels under softmax(logits). logits: [n, k], labels: [n] int32 -> scalar */
export function classificationLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, k), logits) as tf.Scalar;
  });
}

/**
 * Cross-entropy per position, averaged over positions where `weights` is 1 (padding and unchosen positions
 * have weight 0, so they never move the loss). logits: [b, t, V], targets: [b, t] int32, weights: [b, t].
 */
export function maskedSequenceLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const logp = tf.logSoftmax(logits.reshape([b * t, v]));
    const picked = tf.sum(tf.mul(logp, tf.oneHot(targets.reshape([b * t]), v)), -1);
    const w = weights.reshape([b * t]).toFloat();
    return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}
