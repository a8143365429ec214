// Losses shared by every model. Each returns a scalar averaged over the examples (or tokens) that count.
//
// Cross-entropy is written as log-softmax + picking each target's log-probability, without building a one-hot
// [n, V] matrix: one exp per logit instead of tf.losses.softmaxCrossEntropy's three, and a gather whose
// gradient is a scatter (a fast kernel in lib/engine) instead of a dense [n, V] multiply.
import * as tf from "@tensorflow/tfjs";
import { checkIds, checkShapes } from "../nn/check";

const idFix = (what: string, v: number, logits: tf.Tensor) =>
  `${what}s must be class ids in [0, ${v}) for logits of shape [${logits.shape}] (is numClasses or vocabSize too small?).`;

/**
 * Check shapes and that every target is a class id, then pick log p(target) per row. An id outside [0, V) must
 * fail here: the flat-index gather would read a NEIGHBOURING row's entry (row·V + id), a finite, wrong loss.
 */
function pickLogProbs(where: string, what: string, logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const { classes } = checkShapes(where, { logits: [logits, ["n", "classes"]], [`${what}s`]: [targets, ["n"]] });
  checkIds(where, what, targets, classes, idFix(what, classes, logits));
  return gatherLogProbs(logits, targets);
}

/** logits [n, V], checked targets [n] -> log-softmax at each row's target, [n]. */
function gatherLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, v] = logits.shape;
    const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), targets.toInt());
    return tf.gather(tf.logSoftmax(logits).reshape([n * v]), flatIndex) as tf.Tensor1D;
  });
}

/** log p(target) for each row: logits [n, V], targets [n] int32 in [0, V) -> [n]. Throws on any other target. */
export function targetLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return pickLogProbs("targetLogProbs", "target", logits, targets);
}

/** Mean cross-entropy of integer labels under softmax(logits). logits: [n, k], labels: [n] int32 in [0, k) -> scalar */
export function classificationLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(pickLogProbs("classificationLoss", "label", logits, labels))) as tf.Scalar);
}

/**
 * Cross-entropy per position, averaged over positions where `weights` is 1 (padding and unchosen positions
 * have weight 0, so they never move the loss). logits: [b, t, V], targets: [b, t] int32, weights: [b, t].
 * Every target, padding included, must be an id in [0, V) (pad with 0, not -100).
 */
export function maskedSequenceLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  const { b, t, V: v } = checkShapes("maskedSequenceLoss", {
    logits: [logits, ["b", "t", "V"]],
    targets: [targets, ["b", "t"]],
    weights: [weights, ["b", "t"]],
  });
  checkIds("maskedSequenceLoss", "target", targets, v, idFix("target", v, logits));
  return tf.tidy(() => {
    const picked = gatherLogProbs(logits.reshape([b * t, v]) as tf.Tensor2D, targets.reshape([b * t]) as tf.Tensor1D);
    const w = weights.reshape([b * t]).toFloat();
    return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}
