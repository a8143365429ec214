// The 1-D convolution every CNN in the course runs (lib/nn/conv.ts), against PyTorch's F.conv1d(padding="same")
// (numbers in test/fixtures/conv_torch_reference.json, made by conv_torch_reference.py beside it): forward and
// gradients, dilated and not, on every backend, through the fused kernels (lib/engine/fused/conv.ts) and
// through the plain im2col ops (windowMatmul).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { conv1dSame, windowMatmul } from "../lib/nn/conv";
import { fusedConv1d, withFusedKernels } from "../lib/engine/fused";
import { TEST_BACKENDS, switchTo } from "./helpers/backends";

interface ConvCase {
  kernel: number; dilation: number; x: number[][][]; weight: number[][][]; bias: number[]; y: number[][][]; r: number[][][];
  grads: { x: number[][][]; weight: number[][][]; bias: number[] };
}
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "conv_torch_reference.json"), "utf8")) as { cases: ConvCase[] };

function maxDiff(a: tf.Tensor, b: number[] | number[][] | number[][][]): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, tf.tensor(b)))).dataSync()[0]);
}

for (const backend of TEST_BACKENDS) {
  for (const fused of [true, false]) {
    test(`conv1dSame equals PyTorch's conv1d(padding="same"), values and gradients (${backend}, ${fused ? "fused" : "im2col ops"})`, async (t) => {
      const skip = await switchTo(backend);
      if (skip) return t.skip(skip);
      // The fused kernels exist on every backend the course installs (native TF; wasm and cpu with the pack).
      assert.equal(fusedConv1d(tf.zeros([1, 2, 1]) as tf.Tensor3D, tf.zeros([1, 1, 1]) as tf.Tensor3D, 1) !== null, true);
      for (const c of REF.cases) {
        withFusedKernels(fused, () =>
          tf.tidy(() => {
            const x = tf.tensor3d(c.x).transpose([0, 2, 1]) as tf.Tensor3D; // [b, in, t] -> [b, t, in]
            const f = tf.tensor3d(c.weight).transpose([2, 1, 0]) as tf.Tensor3D; // [out, in, k] -> [k, in, out]
            const b = tf.tensor1d(c.bias);
            const r = tf.tensor3d(c.r).transpose([0, 2, 1]);
            const y = tf.add(conv1dSame(x, f, c.dilation), b);
            const what = `k=${c.kernel} d=${c.dilation} t=${x.shape[1]}`;
            assert.ok(maxDiff(y.transpose([0, 2, 1]), c.y) < 1e-5, `${what}: y`);
            const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(conv1dSame(xx as tf.Tensor3D, ff as tf.Tensor3D, c.dilation), bb), r)));
            const [dx, df, db] = g([x, f, b]);
            assert.ok(maxDiff(dx.transpose([0, 2, 1]), c.grads.x) < 1e-5, `${what}: dx`);
            assert.ok(maxDiff(df.transpose([2, 1, 0]), c.grads.weight) < 1e-5, `${what}: dfilters`);
            assert.ok(maxDiff(db, c.grads.bias) < 1e-5, `${what}: dbias`);
          }),
        );
      }
    });
  }
}

test("fused conv1d equals windowMatmul on a training-sized batch, forward and gradient (every backend)", async (t) => {
  for (const backend of TEST_BACKENDS) {
    if (await switchTo(backend)) continue;
    // Odd and even spans: "same" padding splits (k-1)*d unevenly when it is odd (k=4, d=3 pads 4 left, 5 right),
    // which the native dilated gradient path must mirror exactly.
    for (const [kernel, dilation] of [[3, 1], [3, 2], [3, 4], [2, 3], [4, 3], [2, 5]]) {
      tf.tidy(() => {
        const x = tf.randomNormal([4, 19, 16], 0, 1, "float32", dilation) as tf.Tensor3D;
        const f = tf.randomNormal([kernel, 16, 8], 0, 0.3, "float32", dilation + kernel) as tf.Tensor3D;
        const r = tf.randomNormal([4, 19, 8], 0, 1, "float32", 7);
        const loss = (conv: typeof windowMatmul) => (xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(conv(xx as tf.Tensor3D, ff as tf.Tensor3D, dilation), r));
        const fusedFn = (a: tf.Tensor3D, b: tf.Tensor3D, d = 1) => fusedConv1d(a, b, d)!;
        const [gx1, gf1] = tf.grads(loss(fusedFn))([x, f]);
        const [gx2, gf2] = tf.grads(loss(windowMatmul))([x, f]);
        const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
        assert.ok(diff(fusedFn(x, f, dilation), windowMatmul(x, f, dilation)) < 1e-4, `${backend} k=${kernel} d=${dilation}: forward`);
        assert.ok(diff(gx1, gx2) < 1e-4, `${backend} k=${kernel} d=${dilation}: dx`);
        assert.ok(diff(gf1, gf2) < 1e-3, `${backend} k=${kernel} d=${dilation}: dfilters`);
      });
    }
  }
  t.diagnostic("compared on " + TEST_BACKENDS.join(", ") + " where available");
});

test("conv1dSame validates its inputs", () => {
  assert.throws(() => conv1dSame(tf.zeros([1, 4, 3]) as tf.Tensor3D, tf.zeros([3, 2, 2]) as tf.Tensor3D), /conv1dSame: x has shape \[1, 4, 3\]; it must be \[b, t, width\] = \[b, t, 2\]/);
  assert.throws(() => conv1dSame(tf.zeros([1, 4, 3]) as tf.Tensor3D, tf.zeros([3, 3, 2]) as tf.Tensor3D, 0), /dilation \(0\) must be a positive integer/);
});
