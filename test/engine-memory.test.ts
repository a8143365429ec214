// tf.memory() stays flat across the steps of a small training loop on every backend that loads here:
// embedding (gather + UnsortedSegmentSum), conv1d (both backprop kernels), batched attention matmuls,
// a dense head, Adam. Catches a replacement kernel that forgets a temporary, on either side of the engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { installedKernelPack, traceMemory, useBackend } from "../lib/engine";

function tinyModelStep(): { step: () => void; dispose: () => void } {
  const [batch, len, vocab, width, heads] = [4, 12, 100, 16, 2];
  const v = (shape: number[], seed: number) => tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 0.1, "float32", seed)));
  const emb = v([vocab, width], 1);
  const filter = v([3, width, width], 2);
  const qkv = v([width, 3 * width], 3);
  const head = v([width, 3], 4);
  const ids = tf.tensor2d(Array.from({ length: batch * len }, (_, i) => (i * 7) % vocab), [batch, len], "int32");
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], "int32"), 3));
  const opt = tf.train.adam(1e-2);
  const step = () => {
    const loss = opt.minimize(
      () =>
        tf.tidy(() => {
          const x = tf.gather(emb, ids); // [batch, len, width]
          const h = tf.relu(tf.conv1d(x as tf.Tensor3D, filter as tf.Tensor3D, 1, "same"));
          const split = tf.matMul(h.reshape([batch * len, width]), qkv)
            .reshape([batch, len, 3, heads, width / heads])
            .transpose([2, 0, 3, 1, 4]);
          const [q, k, val] = tf.unstack(split);
          const att = tf.softmax(tf.matMul(q, k, false, true)); // [batch, heads, len, len]
          const ctx = tf.matMul(att, val).transpose([0, 2, 1, 3]).reshape([batch, len, width]);
          return tf.losses.softmaxCrossEntropy(labels, tf.matMul(tf.mean(ctx, 1), head)) as tf.Scalar;
        }),
      true,
      [emb, filter, qkv, head],
    );
    loss?.dataSync();
    loss?.dispose();
  };
  return {
    step,
    dispose: () => {
      tf.dispose([emb, filter, qkv, head, ids, labels]);
      opt.dispose(); // Adam's moment variables
    },
  };
}

for (const backend of ["wasm", "cpu"] as const) {
  test(`memory is flat across 30 training steps on ${backend} with the kernel pack`, async () => {
    await useBackend(backend);
    assert.ok(installedKernelPack(backend).includes("UnsortedSegmentSum"));
    const before = tf.memory().numTensors;
    const { step, dispose } = tinyModelStep();
    const trace = traceMemory(step, { steps: 30, warmup: 2 });
    assert.equal(trace.numTensors.length, 30);
    assert.ok(trace.flat, `memory grew on ${backend}: ${trace.growth}`);
    dispose();
    assert.equal(tf.memory().numTensors, before, "every tensor the loop made is gone after dispose");
  });
}

test("traceMemory reports growth when a step leaks", async () => {
  await useBackend("cpu");
  const kept: tf.Tensor[] = [];
  const trace = traceMemory(() => kept.push(tf.ones([2, 3])), { steps: 5, warmup: 1 });
  assert.equal(trace.flat, false);
  assert.deepEqual(trace.numTensors.map((n) => n - trace.numTensors[0]), [0, 1, 2, 3, 4]);
  assert.match(trace.growth, /^4 tensors, 96 bytes, 4 buffers over 5 steps$/);
  tf.dispose(kept);
  assert.throws(() => traceMemory(() => {}, { steps: 1 }), /steps \(1\) must be an integer >= 2/);
});
