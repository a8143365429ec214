// The fused recurrent kernels (lib/engine/fused) against the plain tfjs ops they replace, on every backend:
// outputs and gradients of a stacked bidirectional encoder over a padded batch, of run() from a given initial
// state, and of a decoder-style loop of step() calls; that the fused path really runs (far fewer kernels);
// and flat memory over training steps. test/rnn.test.ts checks both paths against PyTorch's numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { RecurrentCell, RnnEncoder, RnnCell } from "../lib/nn/rnn";
import { Module } from "../lib/nn/module";
import { traceMemory } from "../lib/engine";
import { withFusedKernels } from "../lib/engine/fused";
import { TEST_BACKENDS, switchTo } from "./helpers/backends";

const CELLS: RnnCell[] = ["lstm", "gru"];

/** Value and gradients (every parameter and every input) of `loss`, with fused kernels on or off. */
function valueAndGrads(m: Module, inputs: tf.Variable[], loss: () => tf.Scalar, fused: boolean): number[][] {
  return withFusedKernels(fused, () =>
    tf.tidy(() => {
      const vars = [...m.parameters(), ...inputs];
      const { value, grads } = tf.variableGrads(loss, vars);
      return [[value.dataSync()[0]], ...vars.map((v) => Array.from(grads[v.name].dataSync()))];
    }),
  );
}

function assertSame(a: number[][], b: number[][], tol: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((xs, i) => xs.forEach((x, j) => assert.ok(Math.abs(x - b[i][j]) <= tol * (1 + Math.abs(b[i][j])), `${what}: entry ${i}/${j}: fused ${x} vs plain ${b[i][j]}`)));
}

for (const backend of TEST_BACKENDS) {
  for (const cell of CELLS) {
    test(`${cell}: fused = plain ops, stacked bidirectional encoder over a padded batch, values and gradients (${backend})`, async (t) => {
      const skip = await switchTo(backend);
      if (skip) return t.skip(skip);
      const enc = new RnnEncoder({ cell, inDim: 5, hidden: 6, layers: 2, seed: 3 });
      const x = tf.variable(tf.randomNormal([4, 9, 5], 0, 1, "float32", 1));
      const mask = tf.tensor2d([9, 4, 1, 7].map((n) => Array.from({ length: 9 }, (_, i) => (i < n ? 1 : 0))));
      const r = tf.randomNormal([4, 9, 12], 0, 1, "float32", 2);
      const loss = () =>
        tf.tidy(() => {
          const { outputs, finalStates } = enc.encode(x as tf.Tensor3D, mask);
          let l = tf.sum(tf.mul(outputs, r));
          for (const s of finalStates) l = tf.add(l, tf.add(tf.sum(tf.square(s.h)), s.c ? tf.sum(tf.mul(s.c, 0.5)) : 0));
          return l as tf.Scalar;
        });
      assertSame(valueAndGrads(enc, [x], loss, true), valueAndGrads(enc, [x], loss, false), 2e-4, `${cell} encoder`);
      tf.dispose([x, mask, r]);
      enc.dispose();
    });

    test(`${cell}: fused = plain ops for run() from a given state and for a loop of step() calls with input feeding (${backend})`, async (t) => {
      const skip = await switchTo(backend);
      if (skip) return t.skip(skip);
      const c = new RecurrentCell({ cell, inDim: 4, hidden: 4, seed: 4 });
      const x = tf.variable(tf.randomNormal([6, 3, 4], 0, 1, "float32", 5)); // [time, batch, in]
      const h0 = tf.variable(tf.randomNormal([3, 4], 0, 1, "float32", 6));
      const c0 = tf.variable(tf.randomNormal([3, 4], 0, 1, "float32", 7));
      const initial = () => (cell === "lstm" ? { h: h0 as tf.Tensor2D, c: c0 as tf.Tensor2D } : { h: h0 as tf.Tensor2D });
      const runLoss = () =>
        tf.tidy(() => {
          const out = c.run(x as tf.Tensor3D, initial());
          return tf.add(tf.sum(tf.sin(out.h)), out.c ? tf.sum(out.c) : 0) as tf.Scalar;
        });
      const inputs = cell === "lstm" ? [x, h0, c0] : [x, h0];
      assertSame(valueAndGrads(c, inputs, runLoss, true), valueAndGrads(c, inputs, runLoss, false), 2e-4, `${cell} run()`);
      // A decoder with input feeding: the next input depends on the last output, so it must go step by step.
      const stepLoss = () =>
        tf.tidy(() => {
          let state = initial();
          let feed = tf.zeros([3, 4]) as tf.Tensor2D;
          let l: tf.Tensor = tf.scalar(0);
          for (const xt of tf.unstack(x) as tf.Tensor2D[]) {
            state = c.step(tf.add(xt, feed) as tf.Tensor2D, state);
            feed = tf.tanh(state.h);
            l = tf.add(l, tf.sum(tf.mul(state.h, state.h)));
          }
          return l as tf.Scalar;
        });
      assertSame(valueAndGrads(c, inputs, stepLoss, true), valueAndGrads(c, inputs, stepLoss, false), 2e-4, `${cell} step()`);
      tf.dispose([x, h0, c0]);
      c.dispose();
    });
  }
}

test("the fused path really runs: a training step issues a fraction of the plain path's kernels", async (t) => {
  for (const backend of TEST_BACKENDS) {
    if (await switchTo(backend)) continue;
    for (const cell of CELLS) {
      const enc = new RnnEncoder({ cell, inDim: 8, hidden: 8, bidirectional: false });
      const x = tf.randomNormal([2, 20, 8]) as tf.Tensor3D;
      const mask = tf.ones([2, 20]) as tf.Tensor2D;
      const kernels = async (fused: boolean) =>
        (await tf.profile(() => withFusedKernels(fused, () => tf.tidy(() => { tf.variableGrads(() => tf.sum(enc.final(x, mask)) as tf.Scalar, enc.parameters()); })))).kernels.length;
      const [fusedCount, plainCount] = [await kernels(true), await kernels(false)];
      t.diagnostic(`${backend} ${cell}: ${fusedCount} kernels fused, ${plainCount} plain`);
      // One kernel per sequence, except the GRU on native TensorFlow: ops forward, a hand-written backward.
      const factor = backend === "node" && cell === "gru" ? 2 : 5;
      assert.ok(fusedCount * factor < plainCount, `${backend} ${cell}: ${fusedCount} kernels fused vs ${plainCount} plain`);
      tf.dispose([x, mask]);
      enc.dispose();
    }
  }
});

for (const backend of TEST_BACKENDS) {
  test(`memory stays flat over training steps: encoders and step() loops, both cells, fused and plain (${backend})`, async (t) => {
    const skip = await switchTo(backend);
    if (skip) return t.skip(skip);
    for (const cell of CELLS) {
      for (const fused of [true, false]) {
        const enc = new RnnEncoder({ cell, inDim: 3, hidden: 4, layers: 2 });
        const dec = new RecurrentCell({ cell, inDim: 3, hidden: 8 });
        const x = tf.randomNormal([3, 5, 3]) as tf.Tensor3D;
        const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]);
        const opt = tf.train.adam(0.01);
        const vars = [...enc.trainableVariables(), ...dec.trainableVariables()];
        const trace = traceMemory(
          () =>
            withFusedKernels(fused, () =>
              tf.tidy(() => {
                opt.minimize(() => {
                  const { finalStates } = enc.encode(x, mask);
                  let state = finalStates[0];
                  for (const xt of tf.unstack(x, 1) as tf.Tensor2D[]) state = dec.step(xt, state);
                  return tf.sum(tf.square(state.h)) as tf.Scalar;
                }, false, vars);
              }),
            ),
          { steps: 10 },
        );
        assert.ok(trace.flat, `${cell} ${fused ? "fused" : "plain"} on ${backend}: ${trace.growth}`);
        if (backend === "node") {
          // TensorFlow's own handles too (runNativeOp creates and deletes an int64 scalar per call).
          const handles = () => (tf.backend() as unknown as { getNumOfTFTensors(): number }).getNumOfTFTensors();
          const before = handles();
          withFusedKernels(fused, () => tf.tidy(() => { opt.minimize(() => tf.sum(enc.final(x, mask)) as tf.Scalar, false, vars); }));
          assert.equal(handles(), before, `${cell} ${fused ? "fused" : "plain"}: native TensorFlow handles grew`);
        }
        tf.dispose([x, mask]);
        opt.dispose();
        enc.dispose();
        dec.dispose();
      }
    }
  });
}
