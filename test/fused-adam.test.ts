// FusedAdam (lib/train/fused_adam.ts) against tfjs's own tf.train.adam on every backend: the same weights after many
// steps, with clipping through the Trainer, a gradient missing on some steps, a variable that joins later, and
// weights saved and restored; plus its kernel-call count, which is the reason it exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FusedAdam } from "../lib/train/fused_adam";
import { Trainer } from "../lib/train/trainer";
import { traceMemory } from "../lib/engine";
import { withFusedKernels } from "../lib/engine/fused";
import { ToyMlp, xorData, Point } from "./helpers/toy";
import { TEST_BACKENDS, switchTo } from "./helpers/backends";

/** Three variables of different shapes and a loss whose gradients differ in scale (Adam's per-coordinate step shows). */
function makeVars(prefix: string) {
  const init = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  return {
    w: tf.variable(init([4, 3], 1), true, `${prefix}/w`),
    b: tf.variable(init([3], 2), true, `${prefix}/b`),
    u: tf.variable(init([3, 2], 3), true, `${prefix}/u`),
  };
}
const x = () => tf.tensor2d([[1, 2, 3, 4], [0.5, -1, 2, 0], [3, 0, -2, 1]]);
function loss(v: ReturnType<typeof makeVars>, useU: boolean): tf.Scalar {
  const h = tf.tanh(tf.add(tf.matMul(x(), v.w), v.b));
  const main = tf.mean(tf.square(tf.sub(h, 0.3)));
  return (useU ? tf.add(main, tf.mul(100, tf.sum(tf.square(tf.matMul(h, v.u))))) : main) as tf.Scalar;
}

/** Run `steps` Adam steps: on steps in `skipU` the loss ignores u (no gradient: tf.variableGrads leaves it out). */
function run(opt: tf.Optimizer, v: ReturnType<typeof makeVars>, steps: number, skipU: Set<number>): void {
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const useU = !skipU.has(s);
      const vars = useU ? [v.w, v.b, v.u] : [v.w, v.b];
      const { grads } = tf.variableGrads(() => loss(v, useU), vars);
      opt.applyGradients(grads);
    });
  }
}

function assertClose(a: tf.Tensor, b: tf.Tensor, tol: number, what: string): void {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  const worst = Math.max(...Array.from(x, (xi, i) => Math.abs(xi - y[i])));
  assert.ok(worst < tol, `${what}: max difference ${worst} (tolerance ${tol})`);
}

for (const backend of TEST_BACKENDS) {
  test(`FusedAdam = tf.train.adam over 40 steps, u's gradient missing on some steps (${backend})`, async (t) => {
    const skip = await switchTo(backend);
    if (skip) return t.skip(skip);
    const a = makeVars(`fa-${backend}`);
    const b = makeVars(`ta-${backend}`);
    const fused = new FusedAdam({ learningRate: 0.05 });
    const plain = tf.train.adam(0.05);
    const start = { w: a.w.clone(), b: a.b.clone(), u: a.u.clone() };
    const skipU = new Set([3, 4, 10, 25]);
    run(fused, a, 40, skipU);
    run(plain, b, 40, skipU);
    for (const k of ["w", "b", "u"] as const) {
      assertClose(a[k], b[k], 2e-5, k);
      // The weights really moved (40 steps of size ~0.05): agreement is not two copies of the initial values.
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a[k], start[k]))).dataSync()[0]) > 0.1, `${k} moved`);
    }
    Object.values(start).forEach((x) => x.dispose());
    assert.equal(fused.iterations, 40);
    assert.equal(fused.size, 12 + 3 + 6);
    // Saved and restored moments continue the same trajectory: 5 more steps from the restored state = 5 more steps.
    const saved = await fused.getWeights();
    const at40 = { w: a.w.clone(), b: a.b.clone(), u: a.u.clone() };
    run(fused, a, 5, new Set());
    const after = { w: a.w.clone(), b: a.b.clone(), u: a.u.clone() };
    for (const k of ["w", "b", "u"] as const) a[k].assign(at40[k]);
    const copy = new FusedAdam({ learningRate: 0.05 });
    await copy.setWeights(saved);
    assert.equal(copy.iterations, 40);
    run(copy, a, 5, new Set());
    for (const k of ["w", "b", "u"] as const) assertClose(a[k], after[k], 1e-6, `${k} after restore`);
    [...saved.map((s) => s.tensor), ...Object.values(at40), ...Object.values(after)].forEach((x) => x.dispose());
    for (const vs of [a, b]) Object.values(vs).forEach((x) => x.dispose());
    fused.dispose();
    plain.dispose();
    copy.dispose();
  });
}

test("FusedAdam: a variable that first gets a gradient later starts from zero moments, as in tf.train.adam", async () => {
  await switchTo("cpu");
  const a = makeVars("late-f");
  const b = makeVars("late-t");
  const fused = new FusedAdam({ learningRate: 0.02 });
  const plain = tf.train.adam(0.02);
  const firstSteps = new Set([0, 1, 2, 3, 4, 5]);
  // tf.train.adam keys moments by position, so give it u in the same (last) position as FusedAdam appends it.
  run(fused, a, 12, firstSteps);
  run(plain, b, 12, firstSteps);
  for (const k of ["w", "b", "u"] as const) assertClose(a[k], b[k], 2e-5, k);
  for (const vs of [a, b]) Object.values(vs).forEach((x) => x.dispose());
  fused.dispose();
  plain.dispose();
});

test("FusedAdam validates its options and its input", () => {
  assert.throws(() => new FusedAdam({ learningRate: 0 }), /learningRate \(0\) must be a positive number/);
  assert.throws(() => new FusedAdam({ beta1: 1 }), /beta1 \(1\) must be in \[0, 1\)/);
  assert.throws(() => new FusedAdam({ epsilon: -1 }), /epsilon \(-1\) must be positive/);
  const opt = new FusedAdam();
  assert.throws(() => tf.tidy(() => { opt.flatten({ "no-such-variable": tf.zeros([2]) }); }), /no variable named "no-such-variable"/);
  const v = tf.variable(tf.zeros([2, 2]), true, "fa-shape-check");
  assert.throws(() => tf.tidy(() => { opt.flatten({ "fa-shape-check": tf.zeros([4]) }); }), /gradient of "fa-shape-check" has shape \[4\], its variable \[2,2\]/);
  v.dispose();
  opt.dispose();
});

test("Trainer with Adam on native TensorFlow: fused and tfjs's optimizer give the same model, clipping included; memory flat", async (t) => {
  const skip = await switchTo("node");
  if (skip) return t.skip(skip);
  const train = xorData(64, 3);
  const fit = async (fused: boolean) => {
    const model = new ToyMlp(2, 8, 5);
    const trainer = new Trainer<Point>(model, { progress: false, plot: false, learningRate: 0.05, batchSize: 16, epochs: 3, clipNorm: 0.5, seed: 2 });
    const hist = await withFusedKernels(fused, () => trainer.fit(train));
    const weights = model.trainableVariables().map((v) => v.clone());
    const norms = hist.steps.map((s) => s.gradNorm);
    const optimizer = (trainer as unknown as { optimizer: tf.Optimizer }).optimizer;
    assert.equal(optimizer instanceof FusedAdam, fused, `fused kernels ${fused ? "on" : "off"}: the Trainer's Adam is ${optimizer.getClassName()}`);
    assert.equal(tf.train.adam(0.1) instanceof FusedAdam, false);
    trainer.dispose();
    model.dispose();
    return { weights, norms };
  };
  const f = await fit(true);
  const p = await fit(false);
  // The clip bound was active (the test exercises clipping) and both saw the same gradient norms.
  assert.ok(f.norms.some((n) => n > 0.5), `some gradient norm above the clip (0.5): ${f.norms.map((n) => n.toFixed(2))}`);
  f.norms.forEach((n, i) => assert.ok(Math.abs(n - p.norms[i]) < 1e-4 * Math.max(1, n), `step ${i}: norm ${n} vs ${p.norms[i]}`));
  f.weights.forEach((w, i) => assertClose(w, p.weights[i], 1e-5, `weight ${i}`));
  [...f.weights, ...p.weights].forEach((w) => w.dispose());

  const model = new ToyMlp(2, 8, 5);
  const trainer = new Trainer<Point>(model, { progress: false, plot: false, learningRate: 0.05 });
  const batch = train.slice(0, 16);
  const trace = traceMemory(() => trainer.trainBatch(batch), { steps: 10 });
  assert.ok(trace.flat, `tensors per step: ${trace.numTensors}`);
  trainer.dispose();
  model.dispose();

  // Elsewhere the Trainer keeps tfjs's Adam (on wasm the flat buffer's concat and split cost more than they save).
  await switchTo("cpu");
  const other = new Trainer<Point>(new ToyMlp(2, 4, 1), { progress: false, plot: false });
  other.trainBatch(batch);
  assert.equal((other as unknown as { optimizer: tf.Optimizer }).optimizer instanceof FusedAdam, false);
  other.dispose();
  other.model.dispose();
});

test("FusedAdam issues a fixed handful of kernels per variable, far fewer than tf.train.adam", async () => {
  await switchTo("cpu");
  const count = async (make: () => tf.Optimizer, tag: string) => {
    const v = Array.from({ length: 20 }, (_, i) => tf.variable(tf.ones([3, 2]), true, `kc-${tag}-${i}`));
    const grads = Object.fromEntries(v.map((x) => [x.name, tf.onesLike(x)]));
    const opt = make();
    const step = () => tf.tidy(() => opt.applyGradients(grads));
    step();
    const kernels = (await tf.profile(step)).kernels.length;
    opt.dispose();
    [...v, ...Object.values(grads)].forEach((x) => x.dispose());
    return kernels;
  };
  const fused = await count(() => new FusedAdam({ learningRate: 0.01 }), "fused");
  const plain = await count(() => tf.train.adam(0.01), "plain");
  // 20 variables: tfjs's Adam runs ~14 kernels each; the fused one ~3 each (reshape in, reshape out, add) plus ~15.
  assert.ok(plain >= 14 * 20, `tf.train.adam: ${plain} kernels`);
  assert.ok(fused <= 3 * 20 + 20, `FusedAdam: ${fused} kernels`);
});
