// Notebook 07's supporting pieces: the teacher cache (stale checkpoints are retrained, never loaded), the IMDB
// transfer set, the noise and agreement comparisons, the ensemble's prediction, the co-distillation and
// born-again runners, and the views.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { sourceFingerprint } from "../lib/models/pretrain_cache";
import { prepareSst2 } from "../lib/tasks/sst2";
import { sst2Teachers, teacherSpec } from "../lib/tasks/teachers";
import { imdbTransferSet, splitSentences, treebankContractions } from "../lib/tasks/transfer_set";
import { summariseSeeds, compareRuns, accuracyStdErr } from "../lib/eval/seeds";
import { agreement, mistakeAgreement } from "../lib/eval/agreement";
import { ensemblePredictions } from "../lib/models/teacher_outputs";
import { bornAgain, coDistill, makeStudent } from "../lib/tasks/distillation";
import { imdbTask } from "../lib/tasks/distillation_modes";
import { captureDisplays } from "../lib/viz";
import { studentsView, temperatureView } from "../lib/viz/distill";
import { Rng } from "../lib/random";
import { useBestBackend } from "../lib/engine";

// The teacher test trains a real (quick-mode) teacher: on the pure-JS cpu backend its embedding gradient alone
// takes seconds per step, so use the fastest backend, as the notebooks do.
before(async () => {
  await useBestBackend();
});

const silent = () => {};

test("sourceFingerprint: stable, specific to the files, and clear about a missing file", () => {
  const rnn = sourceFingerprint(["nn/rnn.ts", "models/rnn_classifier.ts"]);
  assert.match(rnn, /^[0-9a-f]{16}$/);
  assert.equal(sourceFingerprint(["models/rnn_classifier.ts", "nn/rnn.ts"]), rnn, "order does not matter");
  assert.notEqual(sourceFingerprint(["nn/conv.ts", "models/rnn_classifier.ts"]), rnn);
  assert.throws(() => sourceFingerprint(["nn/nope.ts"]), /lib\/nn\/nope.ts does not exist/);
  for (const name of ["bilstm", "cnn", "transformer"] as const) assert.match(sourceFingerprint(teacherSpec(name, "quick").sources), /^[0-9a-f]{16}$/);
});

test("every teacher architecture frees all its tensors on dispose (the notebook ends with none alive)", () => {
  for (const name of ["bilstm", "cnn", "transformer"] as const) {
    const before = tf.memory().numTensors;
    teacherSpec(name, "quick").make(50).dispose();
    assert.equal(tf.memory().numTensors, before, `${name} left tensors behind`);
  }
});

test("teacher cache: trains once, loads the same weights next time, retrains when the data changes, and can refuse to train", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "teachers-"));
  try {
    const data = await prepareSst2({ load: { sample: true }, valSize: 50, minCount: 1 });
    const first = await sst2Teachers({ data, names: ["cnn"], mode: "quick", cacheRoot: root, log: silent });
    assert.equal(first[0].loaded, false);
    assert.ok(fs.existsSync(path.join(root, "teacher-cnn-quick", "manifest.json")));
    assert.ok(first[0].model.trainableVariables().length === 0, "teachers come back frozen");
    const again = await sst2Teachers({ data, names: ["cnn"], mode: "quick", cacheRoot: root, log: silent });
    assert.equal(again[0].loaded, true);
    assert.equal(again[0].devAccuracy, first[0].devAccuracy);
    assert.deepEqual(Array.from(again[0].model.parameters()[0].dataSync()), Array.from(first[0].model.parameters()[0].dataSync()));
    // Another split (so another vocabulary): the cached teacher no longer fits and is retrained, not loaded.
    const other = await prepareSst2({ load: { sample: true }, valSize: 60, minCount: 1 });
    const logs: string[] = [];
    const retrained = await sst2Teachers({ data: other, names: ["cnn"], mode: "quick", cacheRoot: root, log: (m) => logs.push(m) });
    assert.equal(retrained[0].loaded, false);
    assert.ok(logs.some((l) => /does not fit/.test(l)), logs.join("\n"));
    await assert.rejects(
      sst2Teachers({ data, names: ["transformer"], mode: "full", cacheRoot: root, ifMissing: "error", log: silent }),
      /no fitting full-mode transformer teacher .*npm run teachers -- --full/,
    );
    [first, again, retrained].forEach((ts) => ts.forEach((t) => t.model.dispose()));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("transfer set: Treebank contractions, sentence splitting, and IMDB sentences encoded with the task's vocabulary", async () => {
  assert.equal(treebankContractions("It doesn't work and I can't say why."), "It does n't work and I ca n't say why.");
  assert.deepEqual(splitSentences("Great film! Really. Is it? yes"), ["Great film!", "Really.", "Is it?", "yes"]);
  const data = await prepareSst2({ load: { sample: true }, valSize: 50, minCount: 1 });
  const set = await imdbTransferSet({ vocab: data.vocab, count: 40, load: { sample: true } });
  assert.equal(set.length, 40);
  for (const s of set) {
    assert.equal(s.label, null);
    assert.ok(s.ids.length >= 3 && s.ids.length <= 50, `${s.ids.length} tokens`);
    assert.ok(s.ids.every((id) => Number.isInteger(id) && id >= 0 && id < data.vocab.size));
  }
  const reordered = await imdbTransferSet({ vocab: data.vocab, count: 40, seed: 5, load: { sample: true } });
  assert.notDeepEqual(reordered.map((s) => s.text), set.map((s) => s.text), "the seed orders the reviews");
  await assert.rejects(imdbTransferSet({ vocab: data.vocab, count: 10 ** 7, load: { sample: true } }), /hold only \d+ sentences/);
  await assert.rejects(imdbTransferSet({ vocab: data.vocab, count: -1 }), /count \(-1\)/);
});

test("the IMDB task for one teacher per task: seeded reviews, their last tokens, SST-2's vocabulary and labels", async () => {
  const data = await prepareSst2({ load: { sample: true }, valSize: 50, minCount: 1 });
  const task = await imdbTask({ vocab: data.vocab, trainSize: 20, devSize: 12, maxTokens: 12, seed: 2, load: { sample: true } });
  assert.equal(task.train.length, 20);
  assert.equal(task.dev.length, 12);
  for (const e of [...task.train, ...task.dev]) {
    assert.ok(e.ids.length >= 1 && e.ids.length <= 12, `${e.ids.length} tokens`);
    assert.ok(e.ids.every((id) => Number.isInteger(id) && id >= 0 && id < data.vocab.size));
    assert.ok(e.label === 0 || e.label === 1);
  }
  assert.equal(new Set(task.train.map((e) => e.label)).size, 2, "a shuffled sample holds both labels");
  const again = await imdbTask({ vocab: data.vocab, trainSize: 20, devSize: 12, maxTokens: 12, seed: 2, load: { sample: true } });
  assert.deepEqual(again, task, "same seed, same examples");
  await assert.rejects(imdbTask({ vocab: data.vocab, trainSize: 10 ** 7, devSize: 1, load: { sample: true } }), /IMDB train has \d+ reviews: ask for 1\.\.\d+/);
});

test("noise: seed summaries, the test set's binomial error, and verdicts on 'a ≥ b'", () => {
  const s = summariseSeeds([0.7, 0.72, 0.74]);
  assert.ok(Math.abs(s.mean - 0.72) < 1e-12 && Math.abs(s.std - 0.02) < 1e-12 && s.n === 3);
  assert.equal(summariseSeeds([0.5]).std, 0);
  assert.throws(() => summariseSeeds([]), /one per seed/);
  assert.ok(Math.abs(accuracyStdErr(0.75, 872) - Math.sqrt(0.75 * 0.25 / 872)) < 1e-15);
  const b = { mean: 0.7, std: 0.01, n: 3 };
  assert.equal(compareRuns({ mean: 0.8, std: 0.01, n: 3 }, b, { testSize: 872 }).verdict, "holds");
  assert.equal(compareRuns({ mean: 0.71, std: 0.01, n: 3 }, b, { testSize: 872 }).verdict, "within noise");
  assert.equal(compareRuns({ mean: 0.6, std: 0.01, n: 3 }, b, { testSize: 872 }).verdict, "reversed");
  // The noise: seed spread plus both binomial terms, sqrt(0.01²/3 + 0.01²/3 + 0.8·0.2/872 + 0.7·0.3/872).
  const c = compareRuns({ mean: 0.8, std: 0.01, n: 3 }, b, { testSize: 872 });
  assert.ok(Math.abs(c.noise - Math.sqrt(1e-4 / 3 + 1e-4 / 3 + 0.16 / 872 + 0.21 / 872)) < 1e-12);
  assert.throws(() => compareRuns({ mean: 72, std: 0, n: 1 }, b, { testSize: 872 }), /accuracy in \[0, 1\]/);
});

test("agreement, mistakes shared with the teacher, and the ensemble's prediction", () => {
  const gold = [0, 0, 1, 1, 1, 0];
  const teacher = [0, 1, 1, 0, 0, 0]; // wrong on 1, 3, 4
  const student = [0, 1, 1, 1, 0, 1]; // repeats the mistakes on 1 and 4, right on 3, new mistake on 5
  assert.equal(agreement(teacher, student), 4 / 6);
  const m = mistakeAgreement({ gold, teacher, student });
  assert.deepEqual(m, { teacherMistakes: 3, sameMistake: 2 / 3, studentOnlyRight: 1, teacherOnlyRight: 1, agreement: 4 / 6 });
  assert.throws(() => agreement([1], [1, 0]), /differ in length/);
  // Two teachers: confident-wrong + mildly right. The average distribution decides, not the average logit.
  assert.deepEqual(ensemblePredictions([[[0, 3], [1, 0]], [[2, 0], [0, 0.1]]]), [1, 0]);
});

function toy(count: number, seed: number): { ids: number[]; label: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const label = rng.next() < 0.5 ? 1 : 0;
    const ids = Array.from({ length: 5 }, () => 9 + Math.floor(rng.next() * 10));
    if (label) ids[Math.floor(rng.next() * 5)] = 7;
    return { ids, label };
  });
}

test("runners: co-distillation records every model's curve; born-again trains each generation from the previous one", async () => {
  const make = (seed: number) => makeStudent({ vocabSize: 20, size: { embedDim: 8, width: 8, layers: 1 }, seed });
  const fit = { maxSteps: 12, epochs: 100, batchSize: 16, learningRate: 1e-2 };
  const before = tf.memory().numTensors;
  const co = await coDistill({ make: [make, make], names: ["A", "B"], train: toy(64, 1), dev: toy(40, 2), mutual: 1, fit, evalEvery: 4 });
  assert.deepEqual(co.steps, [0, 4, 8, 12]);
  assert.equal(co.curves.length, 2);
  co.curves.forEach((c) => assert.equal(c.accuracy.length, 4));
  assert.deepEqual(co.final.map((f) => f.name), ["A", "B"]);
  await assert.rejects(coDistill({ make: [make], names: ["A", "B"], train: toy(8, 1), dev: toy(8, 2), mutual: 1, fit, evalEvery: 1 }), /make \(1\) and names \(2\) must pair up/);
  const gens = await bornAgain({ make, train: toy(64, 3), dev: toy(40, 4), objective: { soft: 1, gold: 1 }, generations: 2, fit });
  assert.deepEqual(gens.map((g) => g.name), ["generation 0", "generation 1", "generation 2"]);
  gens.forEach((g) => assert.equal(g.runs[0].devPred.length, 40));
  assert.equal(tf.memory().numTensors, before + 0, "runners dispose every model they build");
});

test("views: students table + bar chart with error bars, and softened distributions per temperature", () => {
  const { outputs } = captureDisplays(() => {
    const v = studentsView({ title: "t", rows: [{ name: "s", mean: 0.7, std: 0.01, n: 3, params: 10 }], references: [{ name: "teacher", accuracy: 0.8, params: 100 }] });
    assert.deepEqual(v.table.columns, ["model", "dev accuracy", "± std (seeds)", "seeds", "parameters", "× smaller"]);
    assert.equal(v.table.cells[1][5], "10");
    assert.deepEqual(v.table.cells[0].slice(2, 4), ["—", "—"], "n/a is NaN (a dash), not \"\" in a numeric column");
    const trace = v.chart!.data[0] as { y: number[]; error_y: { array: number[] } };
    assert.deepEqual(trace.y, [0.8, 0.7]);
    assert.deepEqual(trace.error_y.array, [0, 0.01]);
    const f = temperatureView({ texts: ["a", "b"], logits: [[0, 2], [1, 0]], temperatures: [1, 4] });
    const groups = f.data as { y: number[] }[];
    assert.ok(Math.abs(groups[0].y[0] - 1 / (1 + Math.exp(-2))) < 1e-6);
    assert.ok(groups[1].y[0] < groups[0].y[0] && groups[1].y[0] > 0.5, "higher T flattens");
    assert.throws(() => temperatureView({ texts: ["a"], logits: [], temperatures: [1] }), /pair up/);
  });
  assert.ok(outputs.length >= 3);
});
