import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  MASK_NEG,
  MultiHeadAttention,
  causalMask,
  combineMasks,
  mergeHeads,
  paddingMask,
  prefixLmMask,
  scaledDotProductAttention,
  splitHeads,
  validHeadCounts,
} from "../lib/nn/attention";
import { Rng } from "../lib/random";

type N4 = number[][][][];

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, "float32", rng.seed());
}

/** The textbook definition, one query at a time, in plain JS. mask: an allowed(b, i, j) predicate. */
function naiveAttention(q: N4, k: N4, v: N4, allowed: (b: number, i: number, j: number) => boolean) {
  const out: N4 = [];
  const weights: N4 = [];
  for (let b = 0; b < q.length; b++) {
    out.push([]);
    weights.push([]);
    for (let h = 0; h < q[b].length; h++) {
      out[b].push([]);
      weights[b].push([]);
      for (let i = 0; i < q[b][h].length; i++) {
        const dk = q[b][h][i].length;
        const scores = k[b][h].map((kj, j) => {
          let s = 0;
          for (let c = 0; c < dk; c++) s += q[b][h][i][c] * kj[c];
          return s / Math.sqrt(dk) + (allowed(b, i, j) ? 0 : -1e9);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((x, y) => x + y, 0);
        const w = e.map((x) => x / z);
        const dv = v[b][h][0].length;
        const o = new Array(dv).fill(0);
        w.forEach((wj, j) => {
          for (let c = 0; c < dv; c++) o[c] += wj * v[b][h][j][c];
        });
        out[b][h].push(o);
        weights[b][h].push(w);
      }
    }
  }
  return { out, weights };
}

test("scaled dot-product attention matches a naive loop for several shapes and masks", () => {
  const rng = new Rng(1);
  const cases: { shape: [number, number, number, number, number, number]; masks: string[] }[] = [
    // [batch, heads, tq, tk, dk, dv]
    { shape: [1, 1, 3, 3, 4, 4], masks: ["none", "causal", "prefix"] },
    { shape: [2, 3, 5, 5, 4, 6], masks: ["none", "padding", "causal", "prefix", "prefixPerExample", "padding+causal"] },
    { shape: [3, 2, 4, 7, 8, 3], masks: ["none", "padding"] }, // cross-attention: tq != tk
  ];
  for (const { shape, masks } of cases) {
    const [b, h, tq, tk, dk, dv] = shape;
    const q = randomTensor([b, h, tq, dk], rng);
    const k = randomTensor([b, h, tk, dk], rng);
    const v = randomTensor([b, h, tk, dv], rng);
    // Example e keeps its first tk - e keys (at least one).
    const lengths = Array.from({ length: b }, (_, e) => Math.max(1, tk - e));
    const mask01 = lengths.map((n) => Array.from({ length: tk }, (_, j) => (j < n ? 1 : 0)));
    const prefixes = Array.from({ length: b }, (_, e) => (e * 2) % (tk + 1));
    for (const kind of masks) {
      let mask: tf.Tensor | undefined;
      let allowed: (e: number, i: number, j: number) => boolean;
      if (kind === "none") allowed = () => true;
      else if (kind === "padding") {
        mask = paddingMask(mask01);
        allowed = (e, _i, j) => j < lengths[e];
      } else if (kind === "causal") {
        mask = causalMask(tk);
        allowed = (_e, i, j) => j <= i;
      } else if (kind === "prefix") {
        mask = prefixLmMask(tk, 2);
        allowed = (_e, i, j) => j <= i || j < 2;
      } else if (kind === "prefixPerExample") {
        mask = prefixLmMask(tk, prefixes);
        allowed = (e, i, j) => j <= i || j < prefixes[e];
      } else {
        const pm = paddingMask(mask01);
        const cm = causalMask(tk);
        mask = combineMasks(pm, cm);
        pm.dispose();
        cm.dispose();
        allowed = (e, i, j) => j < lengths[e] && j <= i;
      }
      const { output, weights } = scaledDotProductAttention(q, k, v, { mask });
      const ref = naiveAttention(q.arraySync() as N4, k.arraySync() as N4, v.arraySync() as N4, allowed);
      assert.deepEqual(output.shape, [b, h, tq, dv]);
      assert.deepEqual(weights.shape, [b, h, tq, tk]);
      const dOut = maxAbsDiff(output, tf.tensor(ref.out));
      const dW = maxAbsDiff(weights, tf.tensor(ref.weights));
      assert.ok(dOut < 1e-5, `${kind} ${shape}: output differs by ${dOut}`);
      assert.ok(dW < 1e-5, `${kind} ${shape}: weights differ by ${dW}`);
      tf.dispose([output, weights, mask as tf.Tensor]);
    }
    tf.dispose([q, k, v]);
  }
});

test("mask builders: shapes and values", () => {
  const c = causalMask(3);
  assert.deepEqual(c.shape, [1, 1, 3, 3]);
  const n = MASK_NEG;
  assert.deepEqual(c.arraySync(), [[[[0, n, n], [0, 0, n], [0, 0, 0]]]]);
  const p = prefixLmMask(4, 2);
  assert.deepEqual(p.arraySync(), [[[[0, 0, n, n], [0, 0, n, n], [0, 0, 0, n], [0, 0, 0, 0]]]]);
  const pe = prefixLmMask(2, [0, 2]);
  assert.deepEqual(pe.shape, [2, 1, 2, 2]);
  assert.deepEqual(pe.arraySync(), [[[[0, n], [0, 0]]], [[[0, 0], [0, 0]]]]);
  const pad = paddingMask(tf.tensor2d([[1, 1, 0], [1, 0, 0]], undefined, "int32"));
  assert.deepEqual(pad.shape, [2, 1, 1, 3]);
  assert.deepEqual(pad.arraySync(), [[[[0, 0, n]]], [[[0, n, n]]]]);
  const both = combineMasks(pad, causalMask(3)) as tf.Tensor;
  assert.deepEqual(both.shape, [2, 1, 3, 3]);
  assert.equal((both.arraySync() as N4)[1][0][2][1], n); // padding key
  assert.equal((both.arraySync() as N4)[0][0][0][1], n); // future key
  assert.equal((both.arraySync() as N4)[0][0][2][1], 0);
  assert.throws(() => prefixLmMask(3, 4), /prefix length \(4\) must be an integer in \[0, 3\]/);
  assert.equal(combineMasks(undefined, undefined), undefined);
  // A mask that cannot broadcast is refused with the shapes named.
  const q = tf.zeros([1, 1, 3, 2]);
  assert.throws(() => scaledDotProductAttention(q, q, q, { mask: causalMask(4) }), /mask of shape \[1,1,4,4\] does not broadcast to scores \[1,1,3,3\]/);
  tf.dispose([c, p, pe, pad, both, q]);
});

test("heads must divide width: the error names both numbers and the valid head counts", () => {
  assert.throws(
    () => new MultiHeadAttention({ width: 128, heads: 3 }),
    { message: "heads (3) must divide width (128): try 1, 2, 4, 8, 16, 32, 64, 128." },
  );
  assert.throws(() => new MultiHeadAttention({ width: 12, heads: 5 }), /heads \(5\) must divide width \(12\): try 1, 2, 3, 4, 6, 12\./);
  assert.deepEqual(validHeadCounts(6), [1, 2, 3, 6]);
  const ok = new MultiHeadAttention({ width: 12, heads: 4 });
  assert.equal(ok.headDim, 3);
  assert.deepEqual(ok.wQkv.shape, [12, 36]);
  assert.deepEqual(ok.bQkv.shape, [36]);
  // One fused input weight (+ bias) and the output projection: no per-head weights.
  assert.deepEqual([...ok.namedParameters().keys()], ["wQkv", "bQkv", "output.weight", "output.bias"]);
  ok.dispose();
});

test("splitHeads chunks the width into heads; mergeHeads undoes it", () => {
  const x = tf.reshape(tf.range(0, 2 * 3 * 6), [2, 3, 6]);
  const s = splitHeads(x, 3);
  assert.deepEqual(s.shape, [2, 3, 3, 2]);
  // Head 1 of example 0 is columns 2..3 of every position.
  assert.deepEqual((s.arraySync() as N4)[0][1], [[2, 3], [8, 9], [14, 15]]);
  const m = mergeHeads(s);
  assert.deepEqual(m.arraySync(), x.arraySync());
  tf.dispose([x, s, m]);
});

/** Multi-head attention written the long way: per example, per head, weights sliced out of wQkv. */
function perHeadReference(mha: MultiHeadAttention, x: tf.Tensor, context: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = mha.width;
    const dh = mha.headDim;
    const W = mha.wQkv as tf.Tensor2D;
    const bias = mha.bQkv;
    const cols = (start: number) => ({
      w: tf.slice(W, [0, start], [d, dh]) as tf.Tensor2D,
      b: tf.slice(bias, [start], [dh]),
    });
    const examples: tf.Tensor[] = [];
    for (let e = 0; e < x.shape[0]; e++) {
      const xe = tf.squeeze(tf.slice(x, [e, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D; // [tq, d]
      const ce = tf.squeeze(tf.slice(context, [e, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D; // [tk, d]
      const heads: tf.Tensor[] = [];
      for (let h = 0; h < mha.heads; h++) {
        const pq = cols(h * dh);
        const pk = cols(d + h * dh);
        const pv = cols(2 * d + h * dh);
        const qh = tf.add(tf.matMul(xe, pq.w), pq.b) as tf.Tensor2D;
        const kh = tf.add(tf.matMul(ce, pk.w), pk.b) as tf.Tensor2D;
        const vh = tf.add(tf.matMul(ce, pv.w), pv.b) as tf.Tensor2D;
        let scores = tf.div(tf.matMul(qh, tf.transpose(kh)), Math.sqrt(dh));
        if (mask) {
          const me = tf.slice(mask, [mask.shape[0] === 1 ? 0 : e, 0, 0, 0], [1, 1, -1, -1]);
          scores = tf.add(scores, tf.reshape(me, [me.shape[2] as number, me.shape[3] as number]));
        }
        heads.push(tf.matMul(tf.softmax(scores) as tf.Tensor2D, vh));
      }
      examples.push(tf.concat(heads, 1)); // [tq, d]
    }
    const merged = tf.stack(examples) as tf.Tensor3D;
    return mha.output.apply(merged);
  });
}

test("fused-QKV multi-head attention equals explicit per-head weights sliced from wQkv", () => {
  const rng = new Rng(7);
  const mha = new MultiHeadAttention({ width: 8, heads: 4, seed: 3 });
  // Non-zero biases, so that a wrong bias split would show.
  mha.bQkv.assign(tf.randomNormal([24], 0, 0.5, "float32", rng.seed()));
  const x = randomTensor([2, 5, 8], rng);
  const ctx = randomTensor([2, 3, 8], rng);
  const causal = causalMask(5);
  const pad = paddingMask([[1, 1, 1], [1, 1, 0]]);

  const self = mha.apply(x, { mask: causal, returnWeights: true });
  assert.deepEqual(self.output.shape, [2, 5, 8]);
  assert.deepEqual(self.weights?.shape, [2, 4, 5, 5]);
  const refSelf = perHeadReference(mha, x, x, causal);
  assert.ok(maxAbsDiff(self.output, refSelf) < 1e-5, "self-attention differs from the per-head computation");

  const cross = mha.apply(x, { context: ctx, mask: pad, returnWeights: true });
  assert.deepEqual(cross.output.shape, [2, 5, 8]);
  assert.deepEqual(cross.weights?.shape, [2, 4, 5, 3]);
  const refCross = perHeadReference(mha, x, ctx, pad);
  assert.ok(maxAbsDiff(cross.output, refCross) < 1e-5, "cross-attention differs from the per-head computation");
  // Padding key 2 of example 1 gets no weight from any head or query.
  const w = cross.weights?.arraySync() as N4;
  for (const row of w[1].flat()) assert.ok(row[2] < 1e-12);

  // Cross-attention to itself is self-attention (same fused weight, Q columns for x, K|V columns for context).
  const selfViaCross = mha.apply(x, { context: x });
  const plain = mha.apply(x);
  assert.ok(maxAbsDiff(selfViaCross.output, plain.output) < 1e-5);
  // Without returnWeights no weights come back.
  assert.equal(plain.weights, undefined);

  tf.dispose([x, ctx, causal, pad, self.output, self.weights as tf.Tensor, refSelf, cross.output, cross.weights as tf.Tensor,
    refCross, selfViaCross.output, plain.output]);
  mha.dispose();
});

test("attention dropout is repeatable from the module's seed and off at inference", () => {
  const x = tf.randomNormal([2, 4, 8], 0, 1, "float32", 5);
  const run = (training: boolean) => {
    const m = new MultiHeadAttention({ width: 8, heads: 2, dropout: 0.5, seed: 11 });
    const y = m.apply(x, { training }).output;
    m.dispose();
    return y;
  };
  const a = run(true);
  const b = run(true);
  const c = run(false);
  const d = run(false);
  assert.equal(maxAbsDiff(a, b), 0, "same seed, same dropout masks");
  assert.ok(maxAbsDiff(a, c) > 1e-3, "dropout changes the output while training");
  assert.equal(maxAbsDiff(c, d), 0);
  tf.dispose([x, a, b, c, d]);
});
