// Distillation objectives, lightest to heaviest (lecture 6). A student learns from a teacher through:
//
//   gold labels             cross-entropy with the data's labels                    hardLabelLoss
//   the teacher's labels    cross-entropy with argmax of the teacher's output       teacherLabels + hardLabelLoss
//   soft targets            T² · KL(softmax(t/T) ‖ softmax(s/T)), Hinton et al. 2015 softTargets + softTargetLoss
//   hidden states           1 − cos(h_s, h_t) per real token (DistilBERT)            hiddenCosineLoss
//                           or ‖h_s − h_t‖² per real token                           hiddenMseLoss
//
// Every loss is a scalar averaged over the examples (or the real tokens) of the batch, so weights combine them
// the way DistilBERT does (Sanh et al. 2019: 5·L_ce + 2·L_mlm + 1·L_cos, T = 2). The Distiller
// (lib/models/distiller.ts) turns these into a model the one Trainer trains.
import * as tf from "@tensorflow/tfjs";
import { targetLogProbs } from "./losses";
import { checkShapes } from "../nn/check";

function checkTemperature(temperature: number): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new Error(`temperature (${temperature}) must be a positive number: T = 1 is the plain softmax, T > 1 softens it (Hinton et al. use 1-20).`);
  }
}

function checkSameClasses(student: tf.Tensor, teacher: tf.Tensor, what: string): void {
  if (student.rank !== 2 || teacher.rank !== 2) {
    throw new Error(`${what}: student and teacher outputs must be [batch, classes]; got [${student.shape}] and [${teacher.shape}].`);
  }
  if (student.shape[0] !== teacher.shape[0]) {
    throw new Error(`${what}: the student has ${student.shape[0]} rows but the teacher ${teacher.shape[0]}: pass the same examples to both.`);
  }
  if (student.shape[1] !== teacher.shape[1]) {
    throw new Error(
      `${what}: the student has ${student.shape[1]} classes but the teacher ${teacher.shape[1]}: ` +
        `distil between models over the same label set (same numClasses, same label order).`,
    );
  }
}

/**
 * The identity whose gradient is zero: the targets of co-distillation are the *other* model's current
 * predictions, which must not be pulled towards the student (Zhang et al. 2018, deep mutual learning, Alg. 1).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(x) as T;
}

/**
 * Softened class distributions: softmax(logits / T). logits: [n, k] → [n, k], rows sum to 1.
 * Several teachers ([teachers, n, k] or a list of [n, k]) give their *average distribution*, the ensemble's
 * soft targets (Hinton et al. 2015 §1: the cumbersome model may be an ensemble). Errors: T ≤ 0; teachers whose
 * shapes differ.
 */
export function softTargets(teacherLogits: tf.Tensor2D | tf.Tensor3D | tf.Tensor2D[], temperature: number): tf.Tensor2D {
  checkTemperature(temperature);
  return tf.tidy(() => {
    const stacked = Array.isArray(teacherLogits) ? stackTeachers(teacherLogits) : teacherLogits;
    if (stacked.rank === 2) return tf.softmax(tf.div(stacked, temperature)) as tf.Tensor2D;
    if (stacked.rank !== 3) throw new Error(`teacher logits must be [n, k] or [teachers, n, k]; got [${stacked.shape}].`);
    return tf.mean(tf.softmax(tf.div(stacked, temperature)), 0) as tf.Tensor2D;
  });
}

function stackTeachers(list: tf.Tensor2D[]): tf.Tensor3D {
  if (list.length === 0) throw new Error("softTargets got an empty list of teachers: pass at least one teacher's logits.");
  const shape = list[0].shape.join(",");
  list.forEach((t, i) => {
    if (t.shape.join(",") !== shape) throw new Error(`teacher ${i} has logits [${t.shape}] but teacher 0 has [${shape}]: every teacher must label the same examples over the same classes.`);
  });
  return tf.stack(list) as tf.Tensor3D;
}

/**
 * Hard-label cross-entropy, the lightest objective: gold labels, or the teacher's own labels (teacherLabels).
 * Mean over the rows whose weight is 1 (unlabelled transfer-set rows get 0). logits [n, k], labels [n] int32,
 * weights [n] → scalar, in nats.
 */
export function hardLabelLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar {
  checkShapes("hardLabelLoss", { logits: [logits, ["n", "k"]], weights: [weights, ["n"]] }, "Give one weight per example.");
  return tf.tidy(() => {
    const nll = tf.neg(targetLogProbs(logits, labels));
    if (!weights) return tf.mean(nll) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(nll, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  });
}

/** The teacher's own label for each example: argmax of its distribution (or logits). [n, k] → [n] int32. */
export function teacherLabels(teacherOutputs: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.argMax(teacherOutputs, 1).toInt() as tf.Tensor1D);
}

export type SoftTargetForm = "kl" | "crossEntropy";

export interface SoftTargetLossOptions {
  /** T > 0 (default 2, DistilBERT's). The targets must have been softened at the same T (softTargets). */
  temperature?: number;
  /**
   * "kl" (default): T² · KL(p_t ‖ p_s), 0 when the student matches the teacher.
   * "crossEntropy": T² · H(p_t, p_s) = the KL form + T² · H(p_t), the teacher's entropy — the same gradient
   * for the student, a different value (PyTorch's cross_entropy with probability targets).
   */
  form?: SoftTargetForm;
}

/**
 * Hinton et al. (2015)'s soft-target loss, averaged over the batch (PyTorch: kl_div(..., reduction="batchmean")):
 *
 *     T² · mean_n Σ_k p_t[n,k] · (log p_t[n,k] − log softmax(s/T)[n,k])
 *
 * studentLogits: [n, k] (raw scores s), targets: [n, k] probabilities p_t = softmax(t/T) from softTargets(), in
 * nats. Why T²: the gradient with respect to a student logit is T·(q − p) and, for large T with zero-mean
 * logits, q − p ≈ (s − t)/(k·T), so it shrinks as 1/T²; the T² factor keeps its size the same whatever T, so
 * the soft term can be mixed with the hard-label term at a fixed weight (Hinton §2, eq. 4). Errors: T ≤ 0;
 * different numbers of rows or classes; targets that are not distributions.
 */
export function softTargetLoss(studentLogits: tf.Tensor2D, targets: tf.Tensor2D, opts: SoftTargetLossOptions = {}): tf.Scalar {
  const temperature = opts.temperature ?? 2;
  const form = opts.form ?? "kl";
  checkTemperature(temperature);
  if (form !== "kl" && form !== "crossEntropy") throw new Error(`form "${form}" is unknown: use "kl" or "crossEntropy".`);
  checkSameClasses(studentLogits, targets, "softTargetLoss");
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(studentLogits, temperature));
    // p·log p with 0·log 0 = 0 (a one-hot target, or an underflowed probability, must not give NaN).
    const plogp = tf.mul(targets, tf.log(tf.maximum(targets, 1e-30)));
    const perExample = form === "kl" ? tf.sum(tf.sub(plogp, tf.mul(targets, logQ)), 1) : tf.neg(tf.sum(tf.mul(targets, logQ), 1));
    return tf.mul(tf.mean(perExample), temperature * temperature) as tf.Scalar;
  });
}

export interface HiddenLossOptions {
  /** [batch, time], 1 = real token, 0 = padding; only real tokens count. Needed for [batch, time, width] states. */
  mask?: tf.Tensor2D;
}

/** Student/teacher states must line up one to one: same batch, same time steps (for token states), same width. */
function checkStates(student: tf.Tensor, teacher: tf.Tensor, mask: tf.Tensor2D | undefined, what: string): void {
  if (student.rank !== teacher.rank || (student.rank !== 2 && student.rank !== 3)) {
    throw new Error(`${what}: states must both be [batch, width] or both [batch, time, width]; got [${student.shape}] and [${teacher.shape}].`);
  }
  if (student.shape[0] !== teacher.shape[0]) throw new Error(`${what}: ${student.shape[0]} student rows vs ${teacher.shape[0]} teacher rows: pass the same examples to both.`);
  if (student.rank === 3 && student.shape[1] !== teacher.shape[1]) {
    throw new Error(
      `${what}: the student's layer has ${student.shape[1]} time steps but the teacher's ${teacher.shape[1]}: ` +
        `hidden states can only be tied position by position when both read the same tokens (same vocabulary, same [CLS] policy).`,
    );
  }
  const w = student.rank - 1;
  if (student.shape[w] !== teacher.shape[w]) {
    throw new Error(`${what}: widths differ (student ${student.shape[w]}, teacher ${teacher.shape[w]}): project the student's states first (the Distiller learns a Linear projection for this).`);
  }
  if (student.rank === 3) {
    if (!mask) throw new Error(`${what}: token states [batch, time, width] need the padding mask ({ mask }), so that padding does not count.`);
    if (mask.shape[0] !== student.shape[0] || mask.shape[1] !== student.shape[1]) throw new Error(`${what}: mask [${mask.shape}] does not match states [${student.shape}].`);
  }
}

/** Average of per-position values [b] or [b, t] over rows, or over real tokens when a mask is given. */
function meanOverReal(values: tf.Tensor, mask?: tf.Tensor2D): tf.Scalar {
  if (values.rank === 1) return tf.mean(values) as tf.Scalar;
  const m = mask!.toFloat();
  return tf.div(tf.sum(tf.mul(values, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
}

/**
 * DistilBERT's cosine embedding loss: 1 − cos(h_s, h_t) per real token, averaged (0 when every state points the
 * way the teacher's does, whatever its length; 2 when opposite). studentStates, teacherStates: [batch, width]
 * or [batch, time, width] with opts.mask [batch, time]. Errors: unequal batch, time or width; no mask for tokens.
 */
export function hiddenCosineLoss(studentStates: tf.Tensor, teacherStates: tf.Tensor, opts: HiddenLossOptions = {}): tf.Scalar {
  checkStates(studentStates, teacherStates, opts.mask, "hiddenCosineLoss");
  return tf.tidy(() => {
    const axis = studentStates.rank - 1;
    const dot = tf.sum(tf.mul(studentStates, teacherStates), axis);
    // ‖a‖·‖b‖ as sqrt(max(‖a‖²‖b‖², eps²)), torch's cosine_similarity with eps 1e-8, but without tf.norm's
    // infinite gradient at a zero vector (padded positions are often exactly zero, and 0·NaN is NaN).
    const sq = tf.mul(tf.sum(tf.square(studentStates), axis), tf.sum(tf.square(teacherStates), axis));
    const cos = tf.div(dot, tf.sqrt(tf.maximum(sq, 1e-16)));
    return meanOverReal(tf.sub(1, cos), opts.mask);
  });
}

/**
 * Hidden-state MSE (TinyBERT, Jiao et al. 2020): the mean squared difference over the width, per real token,
 * averaged over real tokens (torch's mse_loss when nothing is padded). Same shapes and errors as hiddenCosineLoss.
 */
export function hiddenMseLoss(studentStates: tf.Tensor, teacherStates: tf.Tensor, opts: HiddenLossOptions = {}): tf.Scalar {
  checkStates(studentStates, teacherStates, opts.mask, "hiddenMseLoss");
  return tf.tidy(() => meanOverReal(tf.mean(tf.squaredDifference(studentStates, teacherStates), studentStates.rank - 1), opts.mask));
}
