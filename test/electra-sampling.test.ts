// ELECTRA's generator samples (issue 11, fault 5): independent per row, only ordinary tokens, the same
// distribution — and the same draws — on every backend that loads here.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendName, useBackend } from "../lib/engine";
import { ElectraModel } from "../lib/models/electra";
import { FIRST_ORDINARY_ID, sampleReplacements } from "../lib/models/masking";
import { Rng } from "../lib/random";

const backends: BackendName[] = ["cpu", "wasm"];
try {
  require.resolve("@tensorflow/tfjs-node");
  backends.push("node");
} catch {
  // native TensorFlow not installed here: cpu and wasm are still compared
}

/** Logits whose softmax puts known weight on the specials and on a few ordinary ids. */
function knownLogits(v: number): { logits: number[]; ordinary: number[] } {
  const logits = Array.from({ length: v }, (_, j) => (j < FIRST_ORDINARY_ID ? 3 : Math.log(1 + (j % 4))));
  const e = logits.slice(FIRST_ORDINARY_ID).map(Math.exp);
  const z = e.reduce((a, b) => a + b, 0);
  return { logits, ordinary: e.map((x) => x / z) };
}

for (const backend of backends) {
  test(`sampleReplacements on ${backend}: rows independent, specials never drawn, frequencies = softmax over ordinary ids`, async () => {
    const info = await useBackend(backend).catch(() => null);
    if (!info) return; // a backend that does not load is reported by the engine tests
    const v = 24;
    const n = 20000;
    const { logits, ordinary } = knownLogits(v);
    const t = tf.tensor2d(Array.from({ length: n }, () => logits).flat(), [n, v]);
    const ids = sampleReplacements(t, new Rng(7));
    t.dispose();
    assert.ok(ids.every((id) => id >= FIRST_ORDINARY_ID && id < v), "only ordinary ids");
    const counts = new Array(v).fill(0);
    for (const id of ids) counts[id]++;
    // Every frequency within 4.5 standard errors of its probability (the specials held 3·7 of the logit mass).
    ordinary.forEach((p, k) => {
      const f = counts[FIRST_ORDINARY_ID + k] / n;
      assert.ok(Math.abs(f - p) < 4.5 * Math.sqrt((p * (1 - p)) / n), `id ${FIRST_ORDINARY_ID + k}: frequency ${f} vs p ${p} on ${backend}`);
    });
    // Independence: consecutive rows agree as often as two independent draws do (sum of p²), not always.
    let same = 0;
    for (let i = 1; i < n; i++) if (ids[i] === ids[i - 1]) same++;
    const pSame = ordinary.reduce((s, p) => s + p * p, 0);
    assert.ok(Math.abs(same / (n - 1) - pSame) < 0.02, `consecutive rows equal ${same / (n - 1)} of the time, expected ${pSame}`);
    // Temperature: T → small concentrates on the most likely ordinary ids (log 4 = the largest logit).
    const sharp = tf.tensor2d(Array.from({ length: 200 }, () => logits).flat(), [200, v]);
    assert.ok(sampleReplacements(sharp, new Rng(1), 0.05).every((id) => (id % 4) === 3));
    sharp.dispose();
  });
}

test("the same seed gives the same draws on every backend (one uniform per row, drawn in JS)", async () => {
  const draws: number[][] = [];
  for (const backend of backends) {
    if (!(await useBackend(backend).catch(() => null))) continue;
    const logits = tf.tidy(() => tf.mul(tf.randomNormal([300, 50], 0, 1, "float32", 3), 2)) as tf.Tensor2D;
    draws.push(sampleReplacements(logits, new Rng(11)));
    logits.dispose();
  }
  assert.ok(draws.length >= 2, "at least cpu and wasm ran");
  for (const d of draws.slice(1)) assert.deepEqual(d, draws[0]);
});

test("issue 11 fault 5: explain() on cpu samples distinct ordinary ids at the 12 masked positions", async () => {
  await useBackend("cpu");
  const model = new ElectraModel({ vocabSize: 64, width: 16, heads: 2, layers: 1, maxLen: 16, dropout: 0, maskRate: 1, seed: 1 });
  const ids = Array.from({ length: 12 }, (_, i) => 10 + i);
  const e = model.explain(ids, { seed: 0 });
  assert.equal(e.samples.length, 12);
  assert.ok(new Set(e.samples).size >= 9, `samples ${e.samples} should be (nearly) all distinct`);
  assert.ok(e.samples.every((id) => id >= FIRST_ORDINARY_ID), `no special id among ${e.samples}`);
  assert.ok(e.corrupted.every((id, i) => i === 0 || id >= FIRST_ORDINARY_ID), "the discriminator never reads [MASK]");
  assert.throws(() => sampleReplacements(tf.zeros([2, 5]) as tf.Tensor2D, new Rng(0)), /vocabulary size \(5\) must exceed the 7 special ids/);
  model.dispose();
});
