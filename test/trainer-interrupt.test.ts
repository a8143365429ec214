// The Trainer and the course's cancellation signal (lib/interrupt.ts): what the stop button does to fit().
// The kernel side (SIGINT -> requestInterrupt, per-cell flags) is tested in test/kernel/test_protocol.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Trainer } from "../lib/train/trainer";
import { requestInterrupt, clearInterrupt, interruptRequested } from "../lib/interrupt";
import { ToyMlp, xorData, Point } from "./helpers/toy";

const quiet = { progress: false, plot: false } as const;

/** console.log lines printed while fn runs. */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    return { result: await fn(), lines };
  } finally {
    console.log = log;
  }
}

test("an interrupt stops fit() before the next step and keeps the weights trained so far", async () => {
  const data = xorData(128, 3);
  const baseline = tf.memory().numTensors;

  // Reference: exactly 5 steps, no interrupt.
  const ref = new ToyMlp(2, 8, 4);
  const refTrainer = new Trainer<Point>(ref, { ...quiet, batchSize: 16, maxSteps: 5, epochs: 50, seed: 2 });
  await refTrainer.fit(data);
  const refWeights = ref.trainableVariables().map((v) => Array.from(v.dataSync()));

  // Same run with 400 steps to go (50 epochs x 8 batches), interrupted from inside step 5 (as a SIGINT arriving during that step).
  const model = new ToyMlp(2, 8, 4);
  const before = model.trainableVariables().map((v) => Array.from(v.dataSync()));
  let fired = false;
  const trainer = new Trainer<Point>(model, {
    ...quiet,
    batchSize: 16,
    epochs: 50,
    seed: 2,
    onStep: (s) => {
      if (s.step === 5 && !fired) {
        fired = true;
        requestInterrupt();
      }
    },
  });
  try {
    const { result: hist, lines } = await captureLog(() => trainer.fit(data));
    assert.equal(hist.interrupted, true);
    assert.equal(hist.stoppedEarly, false, "an interrupt is not early stopping");
    assert.equal(hist.steps.length, 5, "stops within one step of the interrupt");
    assert.equal(trainer.history, hist);
    assert.deepEqual(lines, ["training interrupted at step 5 of 400; the model keeps the weights trained so far"]);
    const after = model.trainableVariables().map((v) => Array.from(v.dataSync()));
    assert.notDeepEqual(after, before, "the 5 steps changed the weights");
    assert.deepEqual(after, refWeights, "the weights are those after exactly 5 steps");
  } finally {
    clearInterrupt();
  }
  assert.equal(interruptRequested(), false);

  // The kernel clears the flag when the next cell starts; training then runs in full again.
  const again = await trainer.fit(data);
  assert.equal(again.interrupted, false);
  assert.equal(again.steps.length, 400, "50 epochs x 8 batches");

  ref.dispose();
  refTrainer.dispose();
  model.dispose();
  trainer.dispose();
  assert.equal(tf.memory().numTensors, baseline, "nothing leaks when training is interrupted");
});

test("an interrupt with early stopping keeps the best weights and says so; no final evaluation runs", async () => {
  const data = xorData(96, 5);
  const baseline = tf.memory().numTensors;
  const model = new ToyMlp(2, 8, 6);
  let evals = 0;
  const trainer = new Trainer<Point>(model, {
    ...quiet,
    batchSize: 16,
    epochs: 100,
    evalEvery: 3,
    seed: 1,
    earlyStopping: { patience: 1000 },
    onEval: () => evals++,
    onStep: (s) => {
      if (s.step === 10) requestInterrupt();
    },
  });
  try {
    const { result: hist, lines } = await captureLog(() => trainer.fit(data, { validation: data.slice(0, 32) }));
    assert.equal(hist.interrupted, true);
    assert.equal(hist.steps.length, 10);
    assert.equal(evals, 3, "evaluations at steps 3, 6, 9 only: none after the interrupt");
    assert.ok(hist.bestStep !== undefined && hist.bestStep <= 9);
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^training interrupted at step 10 of 600; the model keeps the best weights \\(step ${hist.bestStep}\\)$`));
  } finally {
    clearInterrupt();
  }
  model.dispose();
  trainer.dispose();
  assert.equal(tf.memory().numTensors, baseline, "no best-weight copies left behind");
});
