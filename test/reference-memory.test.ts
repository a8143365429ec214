// Issue 2: tf.memory() (tensors and bytes) and the backend's own buffers stay flat across 50 training steps
// of each reference model on each available backend. A smaller batch than the benchmark's keeps this quick;
// what is measured (does anything survive a step?) does not depend on the batch size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useBackend, traceMemory, loadBackendPackage } from "../lib/engine";
import { referenceModel, REFERENCE_NAMES } from "../lib/models/reference";
import { Trainer } from "../lib/train/trainer";

for (const backend of ["node", "wasm", "cpu"] as const) {
  for (const name of REFERENCE_NAMES) {
    test(`${name} on ${backend}: memory flat across 50 training steps`, async (t) => {
      if (backend === "node") {
        const native = await loadBackendPackage("node");
        if (!native.ok) return t.skip(`native TensorFlow not available here: ${native.note}`);
      }
      await useBackend(backend);
      const ref = referenceModel(name, 1);
      const trainer = new Trainer(ref.model, { progress: false, plot: false });
      const batch = ref.batch(backend === "cpu" ? 2 : 4, 2); // the pure-JS cpu backend is slow; size does not matter here
      const trace = traceMemory(() => trainer.trainBatch(batch), { steps: 50, warmup: 2 });
      assert.ok(trace.flat, `${name} on ${backend} grew: ${trace.growth}`);
      assert.equal(trace.numTensors.length, 50);
      ref.model.dispose();
      trainer.dispose();
    });
  }
}
