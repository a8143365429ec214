// lib/train/timing.ts: stepTimesByLength times real Trainer steps (the weights move), one median per length, in
// order; it disposes every model and trainer it was handed, and rejects bad options naming the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CnnClassifier } from "../lib/models/cnn_classifier";
import { medianMs, randomLabelledIds, stepTimesByLength } from "../lib/train/timing";

const weightSum = (m: CnnClassifier): number => tf.tidy(() => m.parameters().reduce((s, v) => s + tf.sum(tf.abs(v)).dataSync()[0], 0));

test("stepTimesByLength: one positive median per length, real training steps, every model disposed", () => {
  const made: number[] = [];
  const moved: boolean[] = [];
  const before = tf.memory().numTensors;
  const ms = stepTimesByLength({
    lengths: [4, 9],
    batchSize: 3,
    vocabSize: 20,
    repeats: 2,
    make: (length) => {
      made.push(length);
      const m = new CnnClassifier({ vocabSize: 20, embedDim: 4, width: 4, layers: 1, maxLen: length, seed: 1 });
      const start = weightSum(m);
      const dispose = m.dispose.bind(m);
      m.dispose = () => {
        moved.push(weightSum(m) !== start);
        dispose();
      };
      return m;
    },
  });
  assert.deepEqual(made, [4, 9], "one model per length, in order");
  assert.deepEqual(moved, [true, true], "the timed calls are training steps: the weights changed before dispose");
  assert.equal(ms.length, 2);
  assert.ok(ms.every((x) => Number.isFinite(x) && x > 0), String(ms));
  assert.equal(tf.memory().numTensors, before, "models, trainers and batches are all disposed");
});

test("stepTimesByLength and medianMs reject bad options, naming the fix", () => {
  const make = () => new CnnClassifier({ vocabSize: 20, embedDim: 4, width: 4, layers: 1, seed: 1 });
  assert.throws(() => stepTimesByLength({ lengths: [], make }), /lengths \(\[\]\) must be a non-empty list of positive integers/);
  assert.throws(() => stepTimesByLength({ lengths: [0], make }), /lengths \(\[0\]\)/);
  assert.throws(() => stepTimesByLength({ lengths: [4], make, batchSize: 0 }), /batchSize \(0\) must be a positive integer/);
  assert.throws(() => stepTimesByLength({ lengths: [4] } as never), /needs make/);
  assert.throws(() => medianMs(() => 0, { repeats: 0 }), /repeats \(0\)/);
  assert.equal(randomLabelledIds({ count: 5, length: 3, vocabSize: 10 }).length, 5);
});
