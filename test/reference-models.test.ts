// The reference models are the sizes their descriptions state: a description that gives a parameter count
// ("(1,494,992 parameters, the same in PyTorch)") must match the model, since bench/torch_ref.py asserts its
// PyTorch twin against the same number. And each model's batch collates to the lengths the description names.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { referenceModel, REFERENCE_NAMES } from "../lib/models/reference";
import { disposeBatch } from "../lib/train/model";

test("reference models: every stated parameter count is the model's", () => {
  const stated = REFERENCE_NAMES.filter((n) => /\(([\d,]+) parameters/.test(referenceModel(n).description));
  assert.deepEqual(stated, ["rnn-seq2seq", "transformer-seq2seq"]);
  for (const name of REFERENCE_NAMES) {
    const ref = referenceModel(name);
    const m = /\(([\d,]+) parameters/.exec(ref.description);
    if (m) assert.equal(ref.model.paramCount(), Number(m[1].replace(/,/g, "")), name);
    ref.model.dispose();
  }
});

test("reference seq2seq batches: source 16, decoder 17 positions (BOS + 16 in, 16 + EOS out), no padding", () => {
  for (const name of ["rnn-seq2seq", "transformer-seq2seq"]) {
    const ref = referenceModel(name);
    const batch = ref.model.collate(ref.batch(3, 1));
    assert.deepEqual(batch.sourceIds.shape, [3, 16], name);
    assert.deepEqual(batch.decoderInput.shape, [3, 17], name);
    assert.equal(tf.sum(batch.targetMask).dataSync()[0], 3 * 17, name);
    const loss = ref.model.loss(batch, false);
    // Untrained, the loss is near ln(2000) = 7.6: a softmax over the whole vocabulary.
    assert.ok(Math.abs(loss.dataSync()[0] - Math.log(2000)) < 1, `${name} initial loss ${loss.dataSync()[0]}`);
    loss.dispose();
    disposeBatch(batch);
    ref.model.dispose();
  }
});
