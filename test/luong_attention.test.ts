// Luong et al. (2015) global attention: each score against values computed by hand on tiny tensors, masking of
// source padding, the attentional state (eq. 5), and input feeding (§3.3) in the RNN decoder.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { LuongAttention } from "../lib/nn/luong_attention";
import { RnnSeq2Seq } from "../lib/models/seq2seq/rnn_seq2seq";

const near = (a: number[], b: number[], tol = 1e-5) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < tol, `${a} vs ${b}`));
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

// One source of three positions, the third padding; a 2-wide query.
const H = [[1, 0], [0, 1], [1, 1]];
const query = [2, 1];
const setup = () => ({
  memory: tf.tensor3d([H]),
  mask: tf.tensor2d([[1, 1, 0]]),
  q: tf.tensor2d([query]),
});

function check(attn: LuongAttention, expectedScores: number[]): void {
  const { memory, mask, q } = setup();
  const m = attn.prepare(memory, mask);
  near(Array.from(attn.scores(q, m).dataSync()), expectedScores);
  const { context, weights } = attn.attend(q, m);
  const w = [...softmax(expectedScores.slice(0, 2)), 0]; // padding gets weight exactly 0
  near(Array.from(weights.dataSync()), w);
  assert.equal(weights.dataSync()[2], 0);
  near(Array.from(context.dataSync()), [w[0] * 1 + w[2] * 1, w[1] * 1 + w[2] * 1]);
}

test("dot score: h_tᵀ h̄_s", () => {
  const attn = new LuongAttention({ score: "dot", queryDim: 2, memoryDim: 2 });
  check(attn, [2, 1, 3]);
  assert.equal(attn.paramCount(), 2 * 4); // only W_c of eq. 5
});

test("general score: h_tᵀ W_a h̄_s", () => {
  const attn = new LuongAttention({ score: "general", queryDim: 2, memoryDim: 2 });
  // The course's Linear computes h̄ · W; with W = [[1, 2], [0, 1]] the keys are h̄W = [1,2], [0,1], [1,3].
  attn.wMemory!.weight.assign(tf.tensor2d([[1, 2], [0, 1]]));
  check(attn, [1 * 2 + 2 * 1, 0 * 2 + 1 * 1, 1 * 2 + 3 * 1]);
});

test("concat score: v_aᵀ tanh(W_a [h_t ; h̄_s])", () => {
  const attn = new LuongAttention({ score: "concat", queryDim: 2, memoryDim: 2, attentionDim: 2 });
  attn.wQuery!.weight.assign(tf.tensor2d([[1, 0], [0, 1]]));
  attn.wMemory!.weight.assign(tf.tensor2d([[1, 0], [0, -1]]));
  attn.wMemory!.bias!.assign(tf.tensor1d([0, 0.5]));
  attn.v!.weight.assign(tf.tensor2d([[1], [2]]));
  // W_a[h; h̄] = h·Wq + h̄·Wm + b: h̄1 → [3, 1.5], h̄2 → [2, 0.5], h̄3 → [3, 0.5]
  const t = Math.tanh;
  check(attn, [t(3) + 2 * t(1.5), t(2) + 2 * t(0.5), t(3) + 2 * t(0.5)]);
});

test("attentional state h̃ = tanh(W_c [c ; h]) (eq. 5)", () => {
  const attn = new LuongAttention({ score: "dot", queryDim: 2, memoryDim: 2 });
  attn.combine.weight.assign(tf.tensor2d([[1, 0], [0, 1], [1, 1], [0, -1]]));
  const out = attn.attentionalState(tf.tensor2d([[0.5, -0.5]]), tf.tensor2d([[2, 1]])).dataSync();
  // [c; h] = [0.5, -0.5, 2, 1] → [0.5 + 2, -0.5 + 2 - 1] = [2.5, 0.5]
  near(Array.from(out), [Math.tanh(2.5), Math.tanh(0.5)]);
});

test("bad options name the fix", () => {
  assert.throws(() => new LuongAttention({ score: "additive" as "dot", queryDim: 2, memoryDim: 2 }), /score "additive" is unknown: use one of dot, general, concat/);
  assert.throws(() => new LuongAttention({ score: "dot", queryDim: 2, memoryDim: 4 }), /needs queryDim \(2\) = memoryDim \(4\)/);
  const attn = new LuongAttention({ score: "general", queryDim: 2, memoryDim: 2 });
  assert.throws(() => attn.prepare(tf.zeros([1, 3, 5]) as tf.Tensor3D, tf.ones([1, 3]) as tf.Tensor2D), /memory has width 5/);
  assert.throws(() => new RnnSeq2Seq({ sourceVocabSize: 10, targetVocabSize: 10, attention: "none", inputFeeding: true }), /needs attention/);
  assert.throws(() => new RnnSeq2Seq({ sourceVocabSize: 10, targetVocabSize: 10, attention: "bahdanau" as "dot" }), /attention "bahdanau" is unknown/);
});

test("input feeding: the previous attentional vector h̃ changes the next step; without it there is none to feed", () => {
  const model = new RnnSeq2Seq({ sourceVocabSize: 12, targetVocabSize: 12, embedDim: 4, hidden: 3, attention: "general", seed: 2 });
  assert.equal(model.inputFeeding, true);
  assert.equal(model.decoderCells[0].inDim, 4 + 6); // embedding ‖ h̃ (width 2·3, bidirectional)
  const state = model.beginDecoding([[7, 8, 9]]);
  assert.deepEqual(state.carry.feed.shape, [1, 6]);
  assert.ok(state.carry.feed.dataSync().every((x) => x === 0)); // h̃_0 = 0
  const prev = tf.tensor1d([5], "int32");
  const first = model.decodeStep(prev, state);
  // h̃_1 is fed back: the carry's feed is the attentional state of step 1, no longer zero.
  assert.ok(first.carry.feed.dataSync().some((x) => x !== 0));
  const next = tf.tensor1d([8], "int32");
  const a = model.decodeStep(next, { carry: first.carry, memory: state.memory }).logits.dataSync();
  const altered = { ...first.carry, feed: tf.mul(first.carry.feed, -1) };
  const b = model.decodeStep(next, { carry: altered, memory: state.memory }).logits.dataSync();
  assert.ok(a.some((x, i) => Math.abs(x - b[i]) > 1e-4), "changing h̃_{t-1} must change step t");

  const plain = new RnnSeq2Seq({ sourceVocabSize: 12, targetVocabSize: 12, embedDim: 4, hidden: 3, attention: "general", inputFeeding: false, seed: 2 });
  assert.equal(plain.decoderCells[0].inDim, 4);
  assert.equal(plain.beginDecoding([[7, 8]]).carry.feed, undefined);
});
