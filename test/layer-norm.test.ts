// LayerNorm (lib/nn/layers.ts) against PyTorch's F.layer_norm (numbers in test/fixtures/layer_norm_reference.json,
// made by layer_norm_reference.py beside it): values and the gradients of x, gamma and beta, on every backend,
// through the fused op with its written-out gradient (lib/engine/fused/layer_norm.ts) and through autodiff of the
// plain formula (NLU_FUSED=off), including a zero-variance row, a large offset and width-1 leading axes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { LayerNorm } from "../lib/nn/layers";
import { FUSED_OP_NAMES, withFusedKernels } from "../lib/engine/fused";
import { TEST_BACKENDS, switchTo } from "./helpers/backends";

interface LnCase {
  shape: number[]; eps: number; x: number[]; gamma: number[]; beta: number[]; y: number[]; r: number[];
  grads: { x: number[]; gamma: number[]; beta: number[] };
}
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "layer_norm_reference.json"), "utf8")) as { cases: LnCase[] };

function maxDiff(a: tf.Tensor, b: number[]): number {
  const v = a.dataSync();
  assert.equal(v.length, b.length);
  return Math.max(...b.map((e, i) => Math.abs(v[i] - e)));
}

for (const backend of TEST_BACKENDS) {
  for (const fused of [true, false]) {
    test(`LayerNorm equals PyTorch's layer_norm, values and gradients (${backend}, ${fused ? "fused" : "autodiff"})`, async (t) => {
      const skip = await switchTo(backend);
      if (skip) return t.skip(skip);
      for (const c of REF.cases) {
        const d = c.shape[c.shape.length - 1];
        const ln = new LayerNorm(d, c.eps);
        ln.gamma.assign(tf.tensor1d(c.gamma));
        ln.beta.assign(tf.tensor1d(c.beta));
        withFusedKernels(fused, () =>
          tf.tidy(() => {
            const x = tf.tensor(c.x, c.shape);
            const r = tf.tensor(c.r, c.shape);
            const what = `shape [${c.shape}] eps ${c.eps}`;
            assert.ok(maxDiff(ln.apply(x), c.y) < 2e-5, `${what}: y`);
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(ln.apply(x), r)) as tf.Scalar, [ln.gamma, ln.beta]);
            const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(ln.apply(v), r)))(x);
            assert.ok(Number.isFinite(value.dataSync()[0]), `${what}: loss`);
            // The zero-variance row divides by sqrt(eps) ≈ 3e-3 in float32: allow its rounding.
            assert.ok(maxDiff(dx, c.grads.x) < 2e-3, `${what}: dx (max diff ${maxDiff(dx, c.grads.x)})`);
            assert.ok(maxDiff(grads[ln.gamma.name], c.grads.gamma) < 1e-4, `${what}: dgamma`);
            assert.ok(maxDiff(grads[ln.beta.name], c.grads.beta) < 1e-4, `${what}: dbeta`);
          }),
        );
        ln.dispose();
      }
      if (fused) assert.ok(FUSED_OP_NAMES.has("FusedLayerNorm"), "the fused op ran");
    });
  }
}

test("fused LayerNorm: fewer kernels than autodiff, and no tensor left behind over repeated steps", async () => {
  await switchTo("cpu");
  const ln = new LayerNorm(16);
  const x = tf.variable(tf.randomNormal([4, 8, 16])); // a variable: its gradient is needed, as in a model
  const step = () => tf.tidy(() => tf.variableGrads(() => tf.sum(tf.square(ln.apply(x))) as tf.Scalar).value);
  const kernels = async (fused: boolean) => (await tf.profile(() => withFusedKernels(fused, step))).kernels.length;
  const [withFused, plain] = [await kernels(true), await kernels(false)];
  assert.ok(withFused < plain * 0.6, `fused ${withFused} kernels vs autodiff ${plain}`);
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step().dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x]);
  ln.dispose();
});
