import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TransformerBlock, TransformerDecoder, TransformerEncoder, TransformerBlockOptions } from "../lib/nn/transformer";
import { causalMask, prefixLmMask } from "../lib/nn/attention";
import { Embedding } from "../lib/nn/layers";
import { LearnedPositions, SinusoidalPositions, sinusoidalTable } from "../lib/nn/positions";
import { Rng } from "../lib/random";

const ids = (rows: number[][]) => tf.tensor2d(rows, undefined, "int32");

/** Largest |a - b| over rows [from, to) of the time axis of two [batch, t, width] tensors. */
function diffOverTime(a: tf.Tensor, b: tf.Tensor, from: number, to: number): number {
  return tf.tidy(() => {
    const sa = tf.slice(a, [0, from, 0], [-1, to - from, -1]);
    const sb = tf.slice(b, [0, from, 0], [-1, to - from, -1]);
    return tf.max(tf.abs(tf.sub(sa, sb))).dataSync()[0];
  });
}

const small = { vocabSize: 13, width: 8, heads: 2, layers: 2, mlpRatio: 2, maxLen: 12, dropout: 0 };

test("causal masking: output at position t does not change when later tokens change", () => {
  const a = ids([[1, 2, 3, 4, 5, 6]]);
  const b = ids([[1, 2, 3, 9, 11, 12]]); // same first 3 tokens
  const models = [
    { name: "decoder-only", model: new TransformerDecoder({ ...small, crossAttention: false, seed: 1 }), run: (m: any, x: tf.Tensor) => m.apply(x).hidden },
    {
      name: "encoder + causalMask (pre-LN, sinusoidal)",
      model: new TransformerEncoder({ ...small, norm: "pre", positions: "sinusoidal", seed: 2 }),
      run: (m: any, x: tf.Tensor) => tf.tidy(() => m.apply(x, { attentionMask: causalMask(6) }).hidden),
    },
  ];
  for (const { name, model, run } of models) {
    const ha = run(model, a);
    const hb = run(model, b);
    assert.ok(diffOverTime(ha, hb, 0, 3) < 1e-6, `${name}: the past changed with the future`);
    assert.ok(diffOverTime(ha, hb, 3, 6) > 1e-3, `${name}: later positions should change`);
    tf.dispose([ha, hb]);
    model.dispose();
  }
  // Without a causal mask the encoder's early positions DO see the future (the test above can fail).
  const enc = new TransformerEncoder({ ...small, seed: 3 });
  const ha = enc.apply(a).hidden;
  const hb = enc.apply(b).hidden;
  assert.ok(diffOverTime(ha, hb, 0, 3) > 1e-3);
  tf.dispose([a, b, ha, hb]);
  enc.dispose();
});

test("prefix-LM mask: the prefix sees itself fully, the rest is causal", () => {
  const enc = new TransformerEncoder({ ...small, seed: 4 });
  const a = ids([[1, 2, 3, 4, 5, 6]]);
  const changedInPrefix = ids([[1, 2, 7, 4, 5, 6]]); // position 2 is inside a prefix of 3
  const changedAfter = ids([[1, 2, 3, 4, 9, 6]]);
  const run = (x: tf.Tensor) => tf.tidy(() => enc.apply(x, { attentionMask: prefixLmMask(6, 3) }).hidden);
  const [h, hp, ha] = [run(a), run(changedInPrefix), run(changedAfter)];
  assert.ok(diffOverTime(h, hp, 0, 2) > 1e-3, "prefix positions see later prefix tokens");
  assert.ok(diffOverTime(h, ha, 0, 4) < 1e-6, "nothing before position 4 sees position 4");
  tf.dispose([a, changedInPrefix, changedAfter, h, hp, ha]);
  enc.dispose();
});

test("padding invariance: a sequence alone and padded in a batch gives the same hidden states", () => {
  for (const norm of ["post", "pre"] as const) {
    const enc = new TransformerEncoder({ ...small, norm, seed: 5 });
    const dec = new TransformerDecoder({ ...small, norm, seed: 6 });
    const alone = ids([[3, 1, 4, 1, 5]]);
    const batch = ids([[2, 7, 1, 8, 2, 8, 1, 8], [3, 1, 4, 1, 5, 0, 0, 0]]);
    const mask01 = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0]]);
    const hAlone = enc.apply(alone).hidden;
    const hBatch = enc.apply(batch, { mask01 }).hidden;
    const row = tf.slice(hBatch, [1, 0, 0], [1, 5, -1]);
    assert.ok(diffOverTime(hAlone, row, 0, 5) < 1e-5, `encoder (${norm}-LN) real positions changed by padding`);
    // Without the padding mask the pads leak in (so the assertion above can fail).
    const leaky = enc.apply(batch).hidden;
    const leakyRow = tf.slice(leaky, [1, 0, 0], [1, 5, -1]);
    assert.ok(diffOverTime(hAlone, leakyRow, 0, 5) > 1e-3);
    // Decoder: padded context and padded targets.
    const ctxAlone = tf.slice(hBatch, [1, 0, 0], [1, 5, -1]);
    const dAlone = dec.apply(ids([[4, 4, 2]]), { context: ctxAlone }).hidden;
    const dBatch = dec.apply(ids([[1, 2, 3], [4, 4, 2]]), {
      context: hBatch,
      contextMask01: mask01,
      mask01: tf.tensor2d([[1, 1, 1], [1, 1, 1]]),
    }).hidden;
    assert.ok(diffOverTime(dAlone, tf.slice(dBatch, [1, 0, 0], [1, 3, -1]), 0, 3) < 1e-5, `decoder (${norm}-LN) changed by context padding`);
    tf.dispose([alone, batch, mask01, hAlone, hBatch, row, leaky, leakyRow, ctxAlone, dAlone, dBatch]);
    enc.dispose();
    dec.dispose();
  }
});

test("encoder returns per-layer attentions and hidden states with documented shapes", () => {
  const enc = new TransformerEncoder({ ...small, layers: 3, heads: 4, norm: "pre", seed: 7 });
  const x = ids([[1, 2, 3, 0], [4, 5, 0, 0]]);
  const mask01 = tf.tensor2d([[1, 1, 1, 0], [1, 1, 0, 0]]);
  const r = enc.apply(x, { mask01, returnAttention: true, returnHiddenStates: true });
  assert.deepEqual(r.hidden.shape, [2, 4, 8]);
  assert.equal(r.attentions?.length, 3);
  for (const a of r.attentions ?? []) assert.deepEqual(a.shape, [2, 4, 4, 4]);
  assert.equal(r.hiddenStates?.length, 4);
  for (const h of r.hiddenStates ?? []) assert.deepEqual(h.shape, [2, 4, 8]);
  // Rows are distributions and padding keys get no weight.
  const w = r.attentions?.[0].arraySync() as number[][][][];
  for (const row of w[1][2]) {
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    assert.ok(row[2] < 1e-12 && row[3] < 1e-12);
  }
  // Pre-LN: the returned hidden is the final LayerNorm of the last block's output.
  const ln = enc.finalNorm?.apply(r.hiddenStates?.[3] as tf.Tensor) as tf.Tensor;
  assert.ok(diffOverTime(ln, r.hidden, 0, 4) < 1e-6);
  const plain = enc.apply(x, { mask01 });
  assert.equal(plain.attentions, undefined);
  assert.equal(plain.hiddenStates, undefined);
  tf.dispose([x, mask01, r.hidden, ...(r.attentions ?? []), ...(r.hiddenStates ?? []), ln, plain.hidden]);
  enc.dispose();
});

test("positions: sinusoidal table values, learned table shape, clear error past maxLen", () => {
  const t = sinusoidalTable(3, 4).arraySync();
  // pos 2, columns (sin, cos) at frequency 1, then at 1/100.
  const expected = [Math.sin(2), Math.cos(2), Math.sin(2 / 100), Math.cos(2 / 100)];
  t[2].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
  const s = new SinusoidalPositions({ maxLen: 5, width: 4 });
  assert.equal(s.paramCount(), 0);
  const learned = new LearnedPositions({ maxLen: 5, width: 4 });
  assert.deepEqual(learned.apply(3).shape, [3, 4]);
  assert.throws(() => learned.apply(6), /sequence length \(6\) exceeds maxLen \(5\)/);
  const enc = new TransformerEncoder({ ...small, maxLen: 4 });
  assert.throws(() => enc.apply(ids([[1, 2, 3, 4, 5]])), /sequence length \(5\) exceeds maxLen \(4\)/);
  assert.throws(() => new TransformerEncoder({ ...small, positions: "rotary" as any }), /positions "rotary" is unknown: use one of learned, sinusoidal/);
  assert.throws(() => new TransformerEncoder({ ...small, heads: 3 }), /heads \(3\) must divide width \(8\): try 1, 2, 4, 8/);
  s.dispose();
  learned.dispose();
  enc.dispose();
});

test("a shared Embedding of another width is projected, and its variable is shared", () => {
  const shared = new Embedding({ vocabSize: 13, dim: 6, seed: 1 });
  const generator = new TransformerEncoder({ ...small, width: 4, heads: 2, embedding: shared, seed: 8 });
  const discriminator = new TransformerEncoder({ ...small, width: 8, embedding: shared, seed: 9 });
  assert.equal(generator.embedding, discriminator.embedding);
  assert.equal(generator.namedParameters().get("embedding.table"), discriminator.namedParameters().get("embedding.table"));
  assert.deepEqual(generator.embedProjection?.weight.shape, [6, 4]);
  assert.deepEqual(discriminator.embedProjection?.weight.shape, [6, 8]);
  const x = ids([[1, 2, 3]]);
  assert.deepEqual(generator.apply(x).hidden.shape, [1, 3, 4]);
  assert.deepEqual(discriminator.apply(x).hidden.shape, [1, 3, 8]);
  assert.throws(() => new TransformerEncoder({ ...small, vocabSize: 20, embedding: shared }), /vocabSize \(20\) differs/);
  // Same width as the embedding: no projection.
  assert.equal(new TransformerEncoder({ ...small, width: 6, heads: 2, embedding: shared }).embedProjection, undefined);
});

test("block options: mlp off, residual off, norm none, cross-attention needs a context", () => {
  const base = { width: 8, heads: 2, dropout: 0 };
  const withMlp = new TransformerBlock(base);
  const noMlp = new TransformerBlock({ ...base, mlp: false });
  assert.ok(withMlp.paramCount() > noMlp.paramCount());
  assert.deepEqual([...noMlp.namedParameters().keys()].filter((k) => k.startsWith("mlp")), []);
  assert.equal(new TransformerBlock({ ...base, norm: "none" }).paramCount(), withMlp.paramCount() - 2 * 2 * 8);
  const x = tf.randomNormal([2, 3, 8], 0, 1, "float32", 1);
  const a = new TransformerBlock({ ...base, residual: false, seed: 3 }).apply(x).output;
  const b = new TransformerBlock({ ...base, residual: true, seed: 3 }).apply(x).output;
  assert.ok(diffOverTime(a, b, 0, 3) > 1e-3);
  const cross = new TransformerBlock({ ...base, crossAttention: true });
  assert.throws(() => cross.apply(x), /needs a context/);
  assert.throws(() => withMlp.apply(x, { context: x }), /crossAttention: true/);
  const r = cross.apply(x, { context: tf.zeros([2, 5, 8]), returnWeights: true });
  assert.deepEqual(r.attention?.shape, [2, 2, 3, 3]);
  assert.deepEqual(r.crossAttention?.shape, [2, 2, 3, 5]);
  assert.throws(() => new TransformerBlock({ ...base, norm: "middle" as any }), /norm "middle" is unknown: use one of post, pre, none/);
  assert.throws(() => new TransformerBlock({ ...base, activation: "swish" as any }), /activation "swish" is unknown/);
});

/** Central finite differences on the entries with the largest analytic gradient of each variable. */
function gradientCheck(opts: TransformerBlockOptions, withContext: boolean): void {
  const rng = new Rng(21);
  const block = new TransformerBlock({ ...opts, dropout: 0, seed: 5 });
  // Non-trivial norm parameters and biases so that every gradient path is exercised.
  for (const [name, v] of block.namedParameters()) {
    if (/bias|beta|bQkv/.test(name)) v.assign(tf.randomNormal(v.shape, 0, 0.3, "float32", rng.seed()));
    if (/gamma/.test(name)) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, "float32", rng.seed()));
  }
  const x = tf.randomNormal([2, 3, opts.width], 0, 1, "float32", rng.seed());
  const context = withContext ? tf.randomNormal([2, 4, opts.width], 0, 1, "float32", rng.seed()) : undefined;
  const weights = tf.randomNormal([2, 3, opts.width], 0, 1, "float32", rng.seed());
  const mask = causalMask(3);
  const loss = () => tf.tidy(() => tf.sum(tf.mul(block.apply(x, { mask, context }).output, weights)) as tf.Scalar);
  const named = [...block.namedParameters()];
  const { value, grads } = tf.variableGrads(loss, named.map(([, v]) => v));
  value.dispose();
  // float32: 5e-3 balances truncation error (eps²) against rounding error (1/eps); measured worst relative error ≈ 1.4e-3.
  const eps = 5e-3;
  let checked = 0;
  for (const [name, v] of named) {
    const g = grads[v.name].dataSync();
    const order = Array.from(g.keys()).sort((i, j) => Math.abs(g[j]) - Math.abs(g[i])).slice(0, 2);
    const original = v.dataSync().slice();
    for (const i of order) {
      const at = (delta: number) => {
        const values = original.slice();
        values[i] += delta;
        v.assign(tf.tensor(values, v.shape));
        const l = loss();
        const out = l.dataSync()[0];
        l.dispose();
        return out;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(original, v.shape));
      const analytic = g[i];
      const rel = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
      assert.ok(rel < 1e-2, `${name}[${i}]: analytic ${analytic} vs numeric ${numeric} (relative error ${rel})`);
      checked++;
    }
  }
  assert.ok(checked >= 2 * 10, `checked ${checked} entries`);
  tf.dispose([x, weights, mask, ...Object.values(grads)]);
  if (context) context.dispose();
  block.dispose();
}

test("gradient check: post-LN GELU block with cross-attention vs finite differences", () => {
  gradientCheck({ width: 4, heads: 2, mlpRatio: 2, activation: "gelu", norm: "post", crossAttention: true }, true);
});

test("gradient check: pre-LN ReLU block vs finite differences", () => {
  gradientCheck({ width: 4, heads: 2, mlpRatio: 2, activation: "relu", norm: "pre" }, false);
});

test("training keeps tf.memory().numTensors flat and dropout repeats from the seed", () => {
  const enc = new TransformerEncoder({ ...small, dropout: 0.1, norm: "pre", seed: 10 });
  const x = ids([[1, 2, 3, 4], [5, 6, 7, 0]]);
  const mask01 = tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]]);
  const target = tf.randomNormal([2, 4, 8], 0, 1, "float32", 3);
  const optimizer = tf.train.adam(1e-2);
  const step = () => {
    const cost = optimizer.minimize(
      () => tf.mean(tf.square(tf.sub(enc.apply(x, { mask01, training: true, returnAttention: true }).hidden, target))) as tf.Scalar,
      true,
      enc.trainableVariables(),
    );
    const value = cost?.dataSync()[0] ?? NaN;
    cost?.dispose();
    return value;
  };
  const first = step(); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 4; i++) last = step();
  assert.equal(tf.memory().numTensors, before, "tensors leaked during training steps");
  assert.ok(last < first, `loss should fall (${first} -> ${last})`);

  // Two models with the same seed give the same dropout masks; training differs from inference.
  const m1 = new TransformerEncoder({ ...small, dropout: 0.3, seed: 12 });
  const m2 = new TransformerEncoder({ ...small, dropout: 0.3, seed: 12 });
  const t1 = m1.apply(x, { training: true }).hidden;
  const t2 = m2.apply(x, { training: true }).hidden;
  const e1 = m1.apply(x).hidden;
  assert.equal(diffOverTime(t1, t2, 0, 4), 0);
  assert.ok(diffOverTime(t1, e1, 0, 4) > 1e-3);
  tf.dispose([x, mask01, target, t1, t2, e1]);
  optimizer.dispose();
  enc.dispose();
  m1.dispose();
  m2.dispose();
});

test("sinusoidal positions: token embeddings are scaled (√d) so words are not drowned by the fixed table", () => {
  const width = 32;
  const rows = [[7, 8, 9, 10, 11, 12]];
  for (const positions of ["learned", "sinusoidal"] as const) {
    const enc = new TransformerEncoder({ vocabSize: 20, width, heads: 2, layers: 1, maxLen: 8, norm: "pre", positions, dropout: 0, seed: 3 });
    const [tokenRms, positionRms] = tf.tidy(() => {
      const e = enc.embed(ids(rows)); // [1, 6, width]: tokens (× scale) + positions, no norm for pre-LN
      const p = enc.positions!.apply(6);
      const rms = (x: tf.Tensor) => Math.sqrt(tf.mean(tf.square(x)).dataSync()[0]);
      return [rms(tf.sub(e, p)), rms(p)];
    });
    // Words and positions must be of one order of magnitude at initialisation (unscaled: 0.02 vs 0.71).
    const ratio = tokenRms / positionRms;
    assert.ok(ratio > 0.5 && ratio < 2, `${positions}: token/position RMS ratio ${ratio.toFixed(3)} (tokens ${tokenRms.toFixed(3)}, positions ${positionRms.toFixed(3)})`);
    assert.equal(enc.embedScale, positions === "sinusoidal" ? Math.sqrt(width) : 1);
    enc.dispose();
  }
});

test("sinusoidal and learned positions both learn a task that needs a word's neighbour", async () => {
  // Masked-word prediction where each word determines the next (x -> 7x + 3 mod K): the answer is in the
  // context only. Before the √d scale, the sinusoidal encoder stayed at the uniform loss ln K here.
  const { ElectraModel } = await import("../lib/models/electra");
  const { Trainer } = await import("../lib/train/trainer");
  const K = 16;
  const rng = new Rng(0);
  const data = Array.from({ length: 2000 }, () => {
    let x = Math.floor(rng.next() * K);
    const seq = [x];
    for (let i = 0; i < 9; i++) seq.push((x = (7 * x + 3) % K));
    return { ids: seq.map((v) => 7 + v) }; // ids 0-6 are the special tokens
  });
  for (const positions of ["learned", "sinusoidal"] as const) {
    const model = new ElectraModel({ vocabSize: 7 + K, width: 32, heads: 2, layers: 1, maxLen: 12, dropout: 0, objective: "bert", norm: "pre", positions, maskRate: 0.3, seed: 1 });
    const losses: number[] = [];
    const trainer = new Trainer(model, { batchSize: 32, maxSteps: 100, epochs: 100, learningRate: 3e-3, seed: 1, progress: false, plot: false, onStep: () => losses.push(model.lastMetrics!.mainLoss) });
    await trainer.fit(data);
    const last = losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
    // Measured: learned ~1.3, sinusoidal ~1.3 (unscaled sinusoidal: 2.79, the uniform 2.77).
    assert.ok(last < 0.6 * Math.log(K), `${positions}: MLM loss ${last.toFixed(3)} after 100 steps, uniform is ${Math.log(K).toFixed(3)}`);
    trainer.dispose();
    model.dispose();
  }
});
