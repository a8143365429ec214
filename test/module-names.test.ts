// Parameter names depend only on a model's structure, never on how many layers the process made before it
// (tfjs names each new layer <prefix>_<Class><n> with a process-wide n), so a checkpoint loads into a second,
// identically built model in the same process.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Module, structuralName } from "../lib/nn/module";
import { loadCheckpoint, saveCheckpoint } from "../lib/train/checkpoint";

/** A module holding a tfjs layer through addLayer (not an RNN: the kind, not the example). */
class DenseHolder extends Module {
  readonly dense: tf.layers.Layer;
  constructor(seed: number) {
    super();
    this.dense = this.addLayer("dense", tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
    tf.tidy(() => void this.dense.apply(tf.ones([1, 2]))); // builds the weights
  }
}

test("tfjs layers registered with addLayer get counter-free names: checkpoints and copies work across instances", () => {
  assert.equal(structuralName("bidirectional_Bidirectional12/forward_lstm_LSTM7/recurrent_kernel"), "bidirectional_forward_lstm_recurrent_kernel");
  const a = new DenseHolder(1);
  const b = new DenseHolder(2);
  assert.deepEqual([...a.namedParameters().keys()], ["dense.0_dense_kernel", "dense.1_dense_bias"]);
  assert.deepEqual([...b.namedParameters().keys()], [...a.namedParameters().keys()]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-names-"));
  saveCheckpoint(path.join(dir, "a"), a);
  loadCheckpoint(path.join(dir, "a"), b); // was: "does not fit the model" (dense_Dense1 vs dense_Dense2)
  assert.deepEqual(Array.from(b.dense.getWeights()[0].dataSync()), Array.from(a.dense.getWeights()[0].dataSync()));
  const c = new DenseHolder(3).copyWeightsFrom(a);
  assert.deepEqual(Array.from(c.dense.getWeights()[0].dataSync()), Array.from(a.dense.getWeights()[0].dataSync()));
  [a, b, c].forEach((m) => m.dispose());
  fs.rmSync(dir, { recursive: true, force: true });
});
