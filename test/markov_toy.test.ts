// lib/decode/markov_toy.ts: the toy step model whose best output is known by hand — its probabilities, the
// decoders on it (greedy never stops, beam search finds the most probable output), its step count, bad tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { beamSearch, greedyDecode } from "../lib/decode";
import { MarkovStepModel } from "../lib/decode/markov_toy";
import { BOS_ID, EOS_ID } from "../lib/data/vocab";

const A = 7;
const B = 8;
const transitions = { [BOS_ID]: { [A]: 0.6, [B]: 0.4 }, [A]: { [A]: 0.35, [B]: 0.34, [EOS_ID]: 0.31 }, [B]: { [EOS_ID]: 0.9, [A]: 0.05, [B]: 0.05 } };

test("MarkovStepModel: log-probabilities by hand; greedy runs on, beam search finds 'b EOS'; steps counted; no tensor left", () => {
  const before = tf.memory().numTensors;
  const toy = new MarkovStepModel({ transitions, maxTargetLen: 5 });
  assert.equal(toy.targetVocabSize, 9);
  assert.ok(Math.abs(toy.logProbOf([B]) - Math.log(0.36)) < 1e-12);
  assert.ok(Math.abs(toy.logProbOf([A, A], false) - Math.log(0.6 * 0.35)) < 1e-12);
  // An impossible step costs -1e9 (finite); a token without a row of its own is followed by EOS (p = 1).
  assert.equal(toy.logProbOf([A, 3]), Math.log(0.6) - 1e9);
  const g = greedyDecode(toy, [[1], [2, 3]]);
  assert.deepEqual(g.map((h) => [h.tokens, h.finished]), [[[A, A, A, A, A, A], false], [[A, A, A, A, A, A], false]]);
  assert.ok(Math.abs(g[0].logProb - toy.logProbOf(g[0].tokens, false)) < 1e-4);
  toy.steps = 0;
  const [best, second] = beamSearch(toy, [[1]], { beamSize: 2 })[0];
  assert.deepEqual([best.tokens, second.tokens], [[B], [A, B]]);
  assert.ok(Math.abs(best.logProb - Math.log(0.36)) < 1e-5 && Math.abs(second.logProb - toy.logProbOf([A, B])) < 1e-5);
  assert.equal(toy.steps, 3, "beam search stops after the step at which 2 hypotheses ended");
  toy.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("MarkovStepModel rejects tables that are not distributions, and bad sizes", () => {
  assert.throws(() => new MarkovStepModel({ transitions: { [BOS_ID]: { [A]: 0.5, [B]: 0.4 } } }), /after token 5 must be in \[0, 1\] and sum to 1 \(they sum to 0\.9/);
  assert.throws(() => new MarkovStepModel({ transitions: { [BOS_ID]: { [A]: 1.5, [B]: -0.5 } } }), /must be in \[0, 1\]/);
  assert.throws(() => new MarkovStepModel({ transitions, vocabSize: 8 }), /vocabSize \(8\) must be an integer >= 9/);
  assert.throws(() => new MarkovStepModel({ transitions, maxTargetLen: 0 }), /maxTargetLen \(0\)/);
  assert.throws(() => new MarkovStepModel({} as never), /needs \{ transitions/);
  const toy = new MarkovStepModel({ transitions });
  assert.throws(() => toy.logProbOf([42]), /token 42 is outside the vocabulary \[0, 9\)/);
  toy.dispose();
});
