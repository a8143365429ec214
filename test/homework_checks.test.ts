// lib/homework/checks.ts: the checks homework test cells run must pass right answers, fail wrong ones, and say
// where and how an answer is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { expectClose, expectEqual, expectSameHypotheses, expectShape, expectThrows, expectTrue } from "../lib/homework/checks";

test("expectClose passes within tolerance and names the worst element, its index and both values", () => {
  expectClose(tf.tensor2d([[1, 2], [3, 4]]), [[1, 2], [3, 4.000001]]);
  expectClose(0.1 + 0.2, 0.3);
  assert.throws(
    () => expectClose(tf.tensor2d([[1, 2], [3, 4.5]]), [[1, 2.01], [3, 4]], { what: "weights", atol: 1e-3 }),
    /^Error: weights: 2 of 4 value\(s\) differ; the largest difference is at \[1, 1\]: got 4\.5(0+)?, expected 4 /,
  );
  assert.throws(() => expectClose([1, 2, 3], [[1, 2, 3]], { what: "x" }), /x: shape is \[3\], expected \[1, 3\]/);
  assert.throws(() => expectClose([Number.NaN], [0], { what: "y" }), /y: 1 of 1 value\(s\) differ.*got NaN/);
  assert.throws(() => expectClose([[1, 2], [3]], [[1, 2], [3, 4]]), /ragged/);
  assert.throws(() => expectClose([1], [1], { atol: -1 }), /atol \(-1\)/);
  const t = tf.scalar(1);
  t.dispose();
  assert.throws(() => expectClose(t, 1, { what: "z" }), /z: the tensor was already disposed/);
});

test("expectShape, expectEqual, expectTrue say what was expected", () => {
  expectShape(tf.zeros([2, 3]), [2, 3]);
  expectShape([[1, 2, 3]], [1, 3]);
  assert.throws(() => expectShape(tf.zeros([2, 3]), [3, 2], "out"), /^Error: out: shape is \[2, 3\], expected \[3, 2\]\.$/);
  assert.throws(() => expectShape(undefined as unknown as tf.Tensor, [1], "out"), /did you forget to return it/);
  expectEqual({ a: [1, 2], b: "x" }, { b: "x", a: [1, 2] });
  assert.throws(() => expectEqual([1, 2], [1, 3], "ids"), /^Error: ids: got \[1,2\], expected \[1,3\]\.$/);
  assert.throws(() => expectEqual(Number.NaN, 0), /got NaN|got null/);
  expectTrue(true, "never");
  assert.throws(() => expectTrue(false, "the loss should fall"), /^Error: the loss should fall$/);
});

test("expectThrows checks that an Error is thrown and what its message says", () => {
  const e = expectThrows(() => { throw new RangeError("heads (3) must divide width (8)"); }, { message: /heads \(3\)/ });
  assert.ok(e instanceof RangeError);
  expectThrows(() => { throw new Error("t (0) must be positive"); }, { message: "(0)" });
  assert.throws(() => expectThrows(() => 1, { what: "split(x, 3)" }), /^Error: split\(x, 3\) should throw an Error, but it returned normally\.$/);
  assert.throws(() => expectThrows(() => { throw new Error("bad"); }, { message: /heads/ }), /threw "bad", but the message should match \/heads\//);
  assert.throws(() => expectThrows(() => { throw "a string"; }), /threw "a string"; throw an Error object/);
});

test("expectSameHypotheses compares n-best lists rank by rank, tolerating only near ties", () => {
  const h = (tokens: number[], score: number, finished = true) => ({ tokens, logProb: score, score, finished });
  expectSameHypotheses([h([7], -1), h([8, 7], -2)], [h([7], -1.00001), h([8, 7], -2)]);
  // A near tie may come in either order (float32 vs float64); a real difference may not.
  expectSameHypotheses([h([8], -1.00002), h([7], -1)], [h([7], -1), h([8], -1.00002)]);
  assert.throws(() => expectSameHypotheses([h([8], -1.5), h([7], -1)], [h([7], -1), h([8], -1.5)], { what: "k = 2" }),
    /^Error: k = 2: rank 1 \(best first\) is \[8\] EOS logProb -1\.50* score -1\.50*, expected \[7\] EOS logProb -1 score -1\.$/);
  assert.throws(() => expectSameHypotheses([h([7], -1, false)], [h([7], -1)]), /rank 1 .* is \[7\] \(unfinished\)/);
  assert.throws(() => expectSameHypotheses([h([7], -1)], [h([7], -1), h([8], -2)]), /1 hypotheses, expected 2/);
  assert.throws(() => expectSameHypotheses(undefined as never, [h([7], -1)], { what: "mine" }), /mine: got undefined, expected an array/);
});
