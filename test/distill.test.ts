// The distillation losses (lib/train/distill.ts) against PyTorch's definitions, and the properties the lecture
// relies on: T² keeps the gradient's size independent of T, cosine ignores length and padding.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  hardLabelLoss, hiddenCosineLoss, hiddenMseLoss, softTargetLoss, softTargets, stopGradient, teacherLabels,
} from "../lib/train/distill";

interface AtT { kl: number; crossEntropy: number; gradKl: number[][]; ensembleTargets: number[][]; ensembleKl: number }
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "distill_reference.json"), "utf8")) as Record<string, AtT> & { cosine: number; mse: number };

// The inputs of test/fixtures/distill_reference.py.
const S = [[1.5, -0.3, 0.2, 2.0], [0.0, 0.5, -1.2, 0.7], [3.0, -2.0, 0.1, 0.4]];
const T1 = [[2.5, 0.1, -0.5, 1.0], [-0.4, 1.5, -0.2, 0.3], [1.0, -1.0, 2.2, 0.0]];
const T2 = [[0.3, 0.2, -0.1, 1.9], [1.1, -0.5, 0.0, 0.6], [-0.7, 0.8, 1.5, 0.2]];
const HS = [[[0.5, -1.0, 2.0, 0.1], [1.0, 1.0, 0.0, -0.5], [0.3, 0.3, 0.3, 0.3]], [[-1.0, 0.2, 0.4, 0.8], [2.0, -0.1, 0.0, 1.0], [9.0, 9.0, -9.0, 9.0]]];
const HT = [[[0.4, -0.8, 1.5, 0.5], [0.0, 1.0, 1.0, -1.0], [-0.3, 0.3, 0.1, 0.2]], [[-0.5, 0.5, 0.5, 0.5], [1.0, 0.0, 0.5, 0.5], [-9.0, 1.0, 2.0, 3.0]]];
const MASK = [[1, 1, 1], [1, 1, 0]];

const close = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (±${tol})`);
const closeAll = (got: number[][], want: number[][], tol: number, what: string) =>
  got.forEach((row, i) => row.forEach((g, j) => close(g, want[i][j], tol, `${what}[${i}][${j}]`)));

for (const T of [1, 2, 4]) {
  test(`softTargetLoss at T=${T} equals T²·kl_div(batchmean) and T²·cross_entropy, with PyTorch's gradient`, () => {
    const r = ref[`${T}.0`];
    tf.tidy(() => {
      const s = tf.tensor2d(S);
      const p = softTargets(tf.tensor2d(T1), T);
      close(softTargetLoss(s, p, { temperature: T }).dataSync()[0], r.kl, 1e-5, "kl form");
      close(softTargetLoss(s, p, { temperature: T, form: "crossEntropy" }).dataSync()[0], r.crossEntropy, 1e-4, "cross-entropy form");
      const grad = tf.grad((x: tf.Tensor) => softTargetLoss(x as tf.Tensor2D, p, { temperature: T }))(s);
      closeAll(grad.arraySync() as number[][], r.gradKl, 1e-6, "d kl / d student logits");
      // The two forms differ by T² times the teacher's entropy, a constant: their gradients are equal.
      const gradCe = tf.grad((x: tf.Tensor) => softTargetLoss(x as tf.Tensor2D, p, { temperature: T, form: "crossEntropy" }))(s);
      closeAll(gradCe.arraySync() as number[][], r.gradKl, 1e-6, "d ce / d student logits");
    });
  });

  test(`an ensemble's soft targets at T=${T} are its teachers' average distribution (PyTorch reference)`, () => {
    const r = ref[`${T}.0`];
    tf.tidy(() => {
      const fromList = softTargets([tf.tensor2d(T1), tf.tensor2d(T2)], T);
      const fromStack = softTargets(tf.tensor3d([T1, T2]), T);
      closeAll(fromList.arraySync() as number[][], r.ensembleTargets, 1e-6, "ensemble targets (list)");
      closeAll(fromStack.arraySync() as number[][], r.ensembleTargets, 1e-6, "ensemble targets (stacked)");
      close(softTargetLoss(tf.tensor2d(S), fromList, { temperature: T }).dataSync()[0], r.ensembleKl, 1e-5, "kl to the ensemble");
    });
  });
}

test("soft-target loss is 0 when the student matches the teacher, and positive otherwise", () => {
  tf.tidy(() => {
    const p = softTargets(tf.tensor2d(T1), 3);
    close(softTargetLoss(tf.tensor2d(T1), p, { temperature: 3 }).dataSync()[0], 0, 1e-6, "matched");
    // Shifting every logit of a row by a constant changes nothing (softmax is shift-invariant).
    close(softTargetLoss(tf.add(tf.tensor2d(T1), 5) as tf.Tensor2D, p, { temperature: 3 }).dataSync()[0], 0, 1e-5, "shifted");
    assert.ok(softTargetLoss(tf.tensor2d(S), p, { temperature: 3 }).dataSync()[0] > 0.01);
    // A one-hot target (the teacher's label as a distribution) gives no NaN from 0·log 0.
    const oneHot = tf.oneHot(teacherLabels(tf.tensor2d(T1)), 4).toFloat() as tf.Tensor2D;
    assert.ok(Number.isFinite(softTargetLoss(tf.tensor2d(S), oneHot, { temperature: 1 }).dataSync()[0]));
  });
});

// Hinton et al. 2015 §2: ∂C/∂z_i = (q_i − p_i)/T for the cross-entropy at temperature T; for T large compared
// with the logits, and logits with zero mean per example, this is ≈ (z_i − v_i)/(N·T²). The loss here is
// T²·KL averaged over n examples, so its gradient tends to (z − v)/(N·n), with no T in it. What we test: the
// gradient's distance from (z − v)/(N·n) shrinks as 1/T (below 4/T relative, so under 1% from T = 128 on, for
// these logits of size ≤ 3), its norm changes by < 1% from T = 64 to T = 256, and the same loss without the T²
// factor loses a factor 16 (= 256²/64²) of its gradient over that range.
test("T² makes the soft-target gradient independent of T in the high-temperature limit (Hinton §2, eq. 4)", () => {
  tf.tidy(() => {
    const centre = (m: number[][]) => m.map((r) => r.map((x) => x - r.reduce((a, b) => a + b, 0) / r.length));
    const z = tf.tensor2d(centre(S));
    const v = tf.tensor2d(centre(T1));
    const [n, N] = z.shape;
    const limit = tf.div(tf.sub(z, v), N * n);
    const gradAt = (T: number, scaled: boolean) =>
      tf.grad((x: tf.Tensor) => {
        const loss = softTargetLoss(x as tf.Tensor2D, softTargets(v, T), { temperature: T });
        return scaled ? loss : tf.div(loss, T * T);
      })(z);
    const norms = new Map<number, number>();
    for (const T of [32, 64, 128, 256]) {
      const g = gradAt(T, true);
      const rel = tf.norm(tf.sub(g, limit)).dataSync()[0] / tf.norm(limit).dataSync()[0];
      assert.ok(rel < 4 / T, `at T=${T} the gradient is ${(100 * rel).toFixed(2)}% from (z − v)/(N·n), more than 4/T`);
      norms.set(T, tf.norm(g).dataSync()[0]);
    }
    assert.ok(Math.abs(norms.get(256)! / norms.get(64)! - 1) < 0.01, `gradient norms at T=64 and 256: ${norms.get(64)}, ${norms.get(256)}`);
    const unscaled = [64, 256].map((T) => tf.norm(gradAt(T, false)).dataSync()[0]);
    close(unscaled[0] / unscaled[1], 16, 0.3, "without T², the gradient shrinks as 1/T²");
  });
});

test("softTargetLoss and softTargets reject a bad temperature, mismatched classes and rows", () => {
  tf.tidy(() => {
    const s = tf.tensor2d(S);
    const p = softTargets(tf.tensor2d(T1), 1);
    for (const T of [0, -1, NaN]) {
      assert.throws(() => softTargetLoss(s, p, { temperature: T }), /temperature \((0|-1|NaN)\) must be a positive number/);
      assert.throws(() => softTargets(tf.tensor2d(T1), T), /temperature/);
    }
    assert.throws(() => softTargetLoss(s, tf.ones([3, 3]).div(3) as tf.Tensor2D), /student has 4 classes but the teacher 3.*same label set/);
    assert.throws(() => softTargetLoss(s, p.slice([0, 0], [2, 4]) as tf.Tensor2D), /3 rows but the teacher 2/);
    assert.throws(() => softTargets([tf.tensor2d(T1), tf.zeros([3, 3]) as tf.Tensor2D], 1), /teacher 1 has logits \[3,3\] but teacher 0 has \[3,4\]/);
    assert.throws(() => softTargetLoss(s, p, { form: "mse" as never }), /form "mse" is unknown/);
  });
});

test("hidden cosine loss matches PyTorch over real tokens, is 0 for parallel states and ignores padding", () => {
  tf.tidy(() => {
    const hs = tf.tensor3d(HS);
    const ht = tf.tensor3d(HT);
    const mask = tf.tensor2d(MASK);
    close(hiddenCosineLoss(hs, ht, { mask }).dataSync()[0], ref.cosine, 1e-6, "cosine loss");
    close(hiddenMseLoss(hs, ht, { mask }).dataSync()[0], ref.mse, 1e-6, "mse loss");
    // Parallel: the teacher's states scaled by any positive factor (length does not matter), 2-D or 3-D.
    close(hiddenCosineLoss(tf.mul(ht, 3.5), ht, { mask }).dataSync()[0], 0, 1e-6, "parallel token states");
    close(hiddenCosineLoss(tf.tensor2d(T1).mul(0.2), tf.tensor2d(T1)).dataSync()[0], 0, 1e-6, "parallel sentence vectors");
    close(hiddenCosineLoss(tf.neg(ht), ht, { mask }).dataSync()[0], 2, 1e-6, "opposite states");
    // Padding: anything at the padded position (example 1, step 2) leaves both losses unchanged.
    const noisy = tf.tensor3d(HS.map((ex, b) => ex.map((tok, t) => (MASK[b][t] ? tok : tok.map(() => 1000 * Math.random() - 500)))));
    close(hiddenCosineLoss(noisy, ht, { mask }).dataSync()[0], ref.cosine, 1e-6, "cosine with garbage padding");
    close(hiddenMseLoss(noisy, ht, { mask }).dataSync()[0], ref.mse, 1e-6, "mse with garbage padding");
  });
});

test("hidden-state losses reject layers of unequal length or width, and token states without a mask", () => {
  tf.tidy(() => {
    const ht = tf.tensor3d(HT);
    const mask = tf.tensor2d(MASK);
    assert.throws(() => hiddenCosineLoss(tf.zeros([2, 4, 4]), ht, { mask }), /student's layer has 4 time steps but the teacher's 3/);
    assert.throws(() => hiddenMseLoss(tf.zeros([2, 3, 8]), ht, { mask }), /widths differ \(student 8, teacher 4\).*projection/);
    assert.throws(() => hiddenCosineLoss(tf.tensor3d(HS), ht), /need the padding mask/);
    assert.throws(() => hiddenCosineLoss(tf.zeros([2, 4]), ht), /both be \[batch, width\] or both \[batch, time, width\]/);
  });
});

test("hardLabelLoss averages over the rows that carry a label only", () => {
  tf.tidy(() => {
    const logits = tf.tensor2d(S);
    const labels = tf.tensor1d([3, 1, 0], "int32");
    const all = hardLabelLoss(logits, labels).dataSync()[0];
    const perRow = [0, 1, 2].map((i) => hardLabelLoss(logits.slice([i, 0], [1, 4]) as tf.Tensor2D, labels.slice([i], [1]) as tf.Tensor1D).dataSync()[0]);
    close(all, (perRow[0] + perRow[1] + perRow[2]) / 3, 1e-6, "mean over rows");
    close(hardLabelLoss(logits, labels, tf.tensor1d([1, 0, 1])).dataSync()[0], (perRow[0] + perRow[2]) / 2, 1e-6, "row 1 unlabelled");
    assert.deepEqual(Array.from(teacherLabels(tf.tensor2d(T1)).dataSync()), [0, 1, 2]);
  });
});

test("stopGradient passes values and blocks gradients", () => {
  tf.tidy(() => {
    const x = tf.tensor1d([1, 2, 3]);
    assert.deepEqual(Array.from(stopGradient(x).dataSync()), [1, 2, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(a), a), stopGradient(tf.square(a)))))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, 2, 3], "d/da [sg(a)·a + sg(a²)] = sg(a)");
  });
});
