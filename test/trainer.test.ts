import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Trainer } from "../lib/train/trainer";
import { learningRateAt, Schedule } from "../lib/train/schedule";
import { Module } from "../lib/nn/module";
import { Trainable } from "../lib/train/model";
import { captureDisplays, formatNumber } from "../lib/viz/display";
import { checkpointStatus, readCheckpoint } from "../lib/train/checkpoint";
import { ToyMlp, xorData, Point } from "./helpers/toy";

const quiet = { progress: false, plot: false } as const;

test("Trainer learns XOR (needs the hidden layer) and score/predict agree", async () => {
  const model = new ToyMlp(2, 16, 3);
  const trainer = new Trainer<Point>(model, { ...quiet, learningRate: 0.05, batchSize: 16, epochs: 40, seed: 1 });
  const hist = await trainer.fit(xorData(200, 2));
  const test = xorData(100, 9);
  assert.ok(trainer.score(test, "accuracy") >= 0.95, `accuracy ${trainer.score(test, "accuracy")}`);
  const first = hist.evals[0].trainLoss;
  const last = hist.evals[hist.evals.length - 1].trainLoss;
  assert.ok(last < first / 3, `loss should fall a lot: ${first} -> ${last}`);
  assert.equal(hist.steps.length, 40 * Math.ceil(200 / 16));
  const proba = trainer.predictProba(test.slice(0, 5));
  proba.forEach((p) => assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-5));
  assert.deepEqual(trainer.predict(test.slice(0, 5)), proba.map((p) => (p[1] > p[0] ? 1 : 0)));
  model.dispose();
});

test("same seed, same run: histories are identical", async () => {
  const run = async () => {
    const m = new ToyMlp(2, 8, 5);
    const h = await new Trainer<Point>(m, { ...quiet, epochs: 2, seed: 7 }).fit(xorData(64));
    m.dispose();
    return h.steps.map((s) => s.loss);
  };
  assert.deepEqual(await run(), await run());
});

test("early stopping stops after `patience` bad evaluations and restores the best weights", async () => {
  const model = new ToyMlp(2, 8, 0);
  const scripted = [0.5, 0.9, 0.6, 0.4, 0.3, 0.2, 0.1];
  let call = 0;
  let atBest: number[] = [];
  const snapshot = () => model.parameters().flatMap((v) => Array.from(v.dataSync()));
  const trainer = new Trainer<Point>(model, {
    ...quiet, learningRate: 0.05, batchSize: 8, epochs: 20, seed: 2,
    earlyStopping: {
      patience: 2,
      metric: () => {
        const s = scripted[call++];
        if (s === 0.9) atBest = snapshot();
        return s;
      },
    },
  });
  const hist = await trainer.fit(xorData(64), { validation: xorData(16, 5) });
  assert.equal(call, 4, "evaluations: 0.5, 0.9 (best), 0.6, 0.4 -> stop after 2 without improvement");
  assert.equal(hist.stoppedEarly, true);
  assert.equal(hist.bestScore, 0.9);
  assert.equal(hist.bestStep, 2 * 8);
  const now = snapshot();
  assert.equal(now.length, atBest.length);
  now.forEach((v, i) => assert.equal(v, atBest[i]));
  model.dispose();
});

test("a NaN loss stops training with an error naming the step, and leaves the weights untouched", async () => {
  const model = new ToyMlp(2, 4, 0);
  const data = xorData(32);
  data[20].x = [NaN, 0];
  const before = model.parameters().map((v) => Array.from(v.dataSync()));
  let lastGood: number[][] = [];
  const trainer = new Trainer<Point>(model, {
    ...quiet, batchSize: 8, epochs: 1, seed: 0,
    onStep: () => (lastGood = model.parameters().map((v) => Array.from(v.dataSync()))),
  });
  const shuffledBatchOfBad = await trainer.fit(data).then(
    () => assert.fail("expected an error"),
    (e: Error) => e,
  );
  assert.match(shuffledBatchOfBad.message, /loss is NaN at step \d+ \(epoch 1\); the weights were not updated/);
  const after = model.parameters().map((v) => Array.from(v.dataSync()));
  after.flat().forEach((v) => assert.ok(Number.isFinite(v)));
  assert.deepEqual(after, lastGood.length ? lastGood : before);
  model.dispose();
});

test("checkpoint: save -> load gives identical predictions; corrupt or mismatched checkpoints are clear errors", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-ck-"));
  const ck = path.join(dir, "toy");
  const model = new ToyMlp(2, 8, 11);
  const trainer = new Trainer<Point>(model, { ...quiet, epochs: 3, learningRate: 0.05 });
  await trainer.fit(xorData(64));
  trainer.save(ck);
  trainer.save(ck); // overwriting is atomic and leaves no temp folders behind
  assert.deepEqual(fs.readdirSync(dir), ["toy"]);
  const test = xorData(20, 4);
  const want = trainer.predictProba(test);

  const fresh = new ToyMlp(2, 8, 99);
  const t2 = new Trainer<Point>(fresh, quiet);
  assert.notDeepEqual(t2.predictProba(test), want);
  t2.load(ck);
  assert.deepEqual(t2.predictProba(test), want);

  assert.throws(() => new Trainer<Point>(new ToyMlp(2, 4), quiet).load(ck), /config does not match the model: hidden: saved 8, model 4/);
  // checkpointStatus answers what loadCheckpoint would do, without a model.
  const small = new ToyMlp(2, 4);
  assert.deepEqual(checkpointStatus(ck, { model: "ToyMlp", config: model.config() }), { ok: true, found: true, why: "fits", differences: [], savedAt: JSON.parse(fs.readFileSync(path.join(ck, "manifest.json"), "utf8")).savedAt });
  assert.deepEqual(checkpointStatus(ck, { model: "ToyMlp", config: small.config() }).differences, ["hidden: saved 8, model 4"]);
  assert.match(checkpointStatus(ck, { model: "Other" }).why, /holds a ToyMlp, not a Other/);
  small.dispose();

  const weights = path.join(ck, "weights.bin");
  fs.truncateSync(weights, fs.statSync(weights).size - 4);
  assert.throws(() => t2.load(ck), /weights\.bin has \d+ bytes, the manifest says \d+ \(truncated\?\)/);
  assert.deepEqual([checkpointStatus(ck).ok, checkpointStatus(ck).found], [false, true]);
  assert.match(checkpointStatus(ck).why, /truncated/);
  trainer.save(ck);
  const buf = fs.readFileSync(weights);
  buf[3] ^= 0xff;
  fs.writeFileSync(weights, buf);
  assert.throws(() => readCheckpoint(ck), /weights\.bin sha256 [0-9a-f]{64} != manifest [0-9a-f]{64}/);
  assert.throws(() => readCheckpoint(path.join(dir, "nothing")), /no checkpoint at .*missing manifest\.json/);
  assert.deepEqual([checkpointStatus(path.join(dir, "nothing")).found, checkpointStatus(path.join(dir, "nothing")).ok], [false, false]);
  [model, fresh].forEach((m) => m.dispose());
  fs.rmSync(dir, { recursive: true, force: true });
});

test("tensor count is flat across epochs (no leaks in fit, predict or evaluation)", async () => {
  const baseline = tf.memory().numTensors;
  const model = new ToyMlp(2, 8, 0);
  const trainer = new Trainer<Point>(model, { ...quiet, epochs: 1, earlyStopping: { patience: 5 } });
  const data = xorData(64);
  await trainer.fit(data, { validation: data.slice(0, 16) }); // creates optimizer slots once
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    await trainer.fit(data, { validation: data.slice(0, 16) });
    trainer.predictProba(data.slice(0, 10));
    counts.push(tf.memory().numTensors);
  }
  assert.equal(new Set(counts).size, 1, `numTensors changed across epochs: ${counts}`);
  model.dispose();
  trainer.dispose();
  assert.equal(tf.memory().numTensors, baseline, "model + optimizer disposal frees everything");
});

test("options are validated and schedules shape the learning rate", () => {
  assert.throws(() => new Trainer<Point>(new ToyMlp(), { batchSize: 0 }), /batchSize \(0\) must be a positive integer/);
  assert.throws(() => new Trainer<Point>(new ToyMlp(), { learningRate: -1 }), /learningRate \(-1\) must be a positive number/);
  assert.equal(learningRateAt(1, { kind: "constant" }, 5, 10), 1);
  assert.equal(learningRateAt(1, { kind: "linear", warmupSteps: 4 }, 0, 10), 0.25);
  assert.equal(learningRateAt(1, { kind: "linear", warmupSteps: 4 }, 3, 10), 1);
  assert.ok(Math.abs(learningRateAt(1, { kind: "linear", warmupSteps: 4 }, 7, 10) - 0.5) < 1e-9);
});

/** One weight w (starting at 0) and loss w: the gradient is always 1, so each step moves w by the step size. */
class OneWeight extends Module implements Trainable<number, { x: tf.Tensor1D }> {
  readonly w = this.addParam("w", tf.zeros([1]));
  collate(examples: number[]) {
    return { x: tf.tensor1d(examples) };
  }
  loss(): tf.Scalar {
    return tf.sum(this.w) as tf.Scalar;
  }
}

test("every optimizer moves the weight by the rate its schedule records (SGD used to ignore the schedule)", async () => {
  const moves = async (optimizer: "sgd" | "adam" | "rmsprop", schedule: Schedule) => {
    const model = new OneWeight();
    const at: number[] = [0];
    const trainer = new Trainer<number>(model, {
      ...quiet, optimizer, learningRate: 0.1, batchSize: 1, epochs: 1, schedule,
      onStep: () => at.push(-model.w.dataSync()[0]),
    });
    const h = await trainer.fit([0, 0, 0, 0]);
    trainer.dispose();
    model.dispose();
    return { lr: h.steps.map((s) => s.lr), moved: at.slice(1).map((w, i) => w - at[i]) };
  };
  const warmup: Schedule = { kind: "linear", warmupSteps: 4 };
  const close = (got: number[], want: number[], what: string) =>
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-5, `${what}: the steps moved ${got}, expected ${want}`));

  // The case: SGD with linear warm-up over four steps.
  const sgd = await moves("sgd", warmup);
  close(sgd.lr, [0.025, 0.05, 0.075, 0.1], "sgd recorded lr");
  close(sgd.moved, [0.025, 0.05, 0.075, 0.1], "sgd");
  // Decay too: warm-up 1 step, then linear decay to 0 over the remaining three.
  const decay: Schedule = { kind: "linear", warmupSteps: 1 };
  const sgdDecay = await moves("sgd", decay);
  close(sgdDecay.moved, sgdDecay.lr, "sgd with decay");
  // Adam with a constant gradient: m̂ = v̂ = 1, so the step is lr / (1 + ε) (float32 bias corrections: ~1e-6 off).
  for (const s of [warmup, decay]) {
    const adam = await moves("adam", s);
    close(adam.moved, adam.lr.map((lr) => lr / (1 + 1e-7)), `adam ${JSON.stringify(s)}`);
    // RMSProp (decay 0.9, from a zero accumulator): the step is lr / sqrt(1 - 0.9^t + ε).
    const rms = await moves("rmsprop", s);
    close(rms.moved, rms.lr.map((lr, i) => lr / Math.sqrt(1 - 0.9 ** (i + 1) + 1e-7)), `rmsprop ${JSON.stringify(s)}`);
  }
});

test("the progress line ends on the last evaluation (the chart's last point), and the score has its own axis", async () => {
  const model = new ToyMlp(2, 8, 3);
  const trainer = new Trainer<Point>(model, { progress: true, plot: true, learningRate: 0.05, batchSize: 16, epochs: 3, seed: 1 });
  const { result, outputs } = captureDisplays(() => trainer.fit(xorData(64, 2), { validation: xorData(24, 6) }));
  const h = await result;
  const last = h.evals[h.evals.length - 1];
  const line = outputs.filter((o) => o.html.includes("nlu-progress")).pop()!.text;
  // Before: the final line kept `val` from the evaluation BEFORE the last one.
  assert.ok(line.includes(`val macroF1 ${formatNumber(last.valScore!, 4)}`), `${line} vs last eval ${last.valScore}`);
  assert.ok(line.includes(`val loss ${formatNumber(last.valLoss!, 4)}`), line);
  const chart = outputs.filter((o) => o.html.includes("nlu-plot")).pop()!.html;
  const fig = JSON.parse(chart.match(/fig = (\{.*\}), tries/)![1].replace(/\\u003c/g, "<"));
  const score = fig.data.find((t: { name: string }) => t.name === "validation macroF1");
  assert.equal(score.yaxis, "y2", "the score is drawn against the right axis");
  assert.equal(score.y[score.y.length - 1], last.valScore, "the chart's last score point is the progress line's");
  assert.equal(fig.layout.yaxis.title.text, "loss");
  assert.equal(fig.layout.yaxis2.title.text, "validation macroF1");
  // Its own ticks: plotly 3's default for an overlaying axis ("sync") puts them at the loss axis's grid values.
  assert.equal(fig.layout.yaxis2.tickmode, "auto");
  assert.equal(fig.data.find((t: { name: string }) => t.name === "validation loss").yaxis, undefined, "losses stay on the loss axis");
  model.dispose();
  trainer.dispose();
});
