// The three later distillation pieces: interchange interventions and the counterfactual (DIITO) objective,
// self-distillation of lower layers (early exits mimicking the top), and one teacher per task (BAM).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CnnClassifier } from "../lib/models/cnn_classifier";
import { RnnClassifier } from "../lib/models/rnn_classifier";
import { LabelledIds } from "../lib/models/classifier";
import { Distiller, DistillExample } from "../lib/models/distiller";
import { interchangePairs, intervenedLogits, pairTensors } from "../lib/models/intervention";
import { SelfDistiller } from "../lib/models/self_distiller";
import { MultiTaskDistiller, TaskExample, labelPerTask } from "../lib/models/multi_task";
import { teacherLogitsFor } from "../lib/models/teacher_outputs";
import { Trainer } from "../lib/train/trainer";
import { disposeBatch } from "../lib/train/model";
import { Rng } from "../lib/random";
import { useBestBackend } from "../lib/engine";
import { interchangeAgreement } from "../lib/tasks/distillation_modes";
import { TOY_VOCAB, toySentences as toy } from "./helpers/sentences";

// The training tests are seconds on the fastest backend, as the notebooks use, and tens of seconds on pure JS.
before(async () => {
  await useBestBackend();
});

const quiet = { progress: false, plot: false } as const;
const cnn = (seed: number, layers = 2, width = 16) => new CnnClassifier({ vocabSize: TOY_VOCAB, embedDim: 8, width, layers, dropout: 0, seed });
const gradNorms = (f: () => tf.Scalar, vars: tf.Variable[]) =>
  tf.tidy(() => {
    const { grads } = tf.variableGrads(f, vars);
    return vars.map((v) => (grads[v.name] ? tf.norm(grads[v.name]).dataSync()[0] : 0));
  });
const near = (a: number[][], b: number[][], tol = 1e-5) => a.every((r, i) => r.every((x, k) => Math.abs(x - b[i][k]) < tol));

// ------------------------------------------------------------------------------- interchange interventions

test("an interchange intervention really changes the output: swapping every state gives the source's output", () => {
  const model = cnn(1, 3);
  // Two sentences of the same length: each is the other's source.
  const batch = model.collate([{ ids: [9, 10, 11, 7, 12], label: 1 }, { ids: [13, 14, 15, 16, 17], label: 0 }]);
  try {
    const plain = tf.tidy(() => model.logits(batch, false).arraySync());
    assert.ok(!near([plain[0]], [plain[1]], 1e-3), "the two sentences get different outputs to begin with");
    const source = tf.tensor1d([1, 0], "int32");
    for (const layer of [0, 1, 2, 3]) {
      const all = tf.ones([2, 5]) as tf.Tensor2D;
      const swapped = tf.tidy(() => intervenedLogits(model, { ...batch, layer, source, positions: all, training: false }).arraySync());
      assert.ok(near(swapped, [plain[1], plain[0]]), `layer ${layer}: full swap ${JSON.stringify(swapped)} vs the sources' ${JSON.stringify(plain)}`);
      // Swapping some positions moves the output away from the base's, but not all the way to the source's.
      const some = tf.tensor2d([[0, 0, 1, 1, 0], [0, 0, 1, 1, 0]]);
      const partial = tf.tidy(() => intervenedLogits(model, { ...batch, layer, source, positions: some, training: false }).arraySync());
      assert.ok(!near(partial, plain, 1e-4) && !near(partial, [plain[1], plain[0]], 1e-4), `layer ${layer}: a partial swap is a new (counterfactual) output`);
      // No position swapped: the base's own output.
      const none = tf.tidy(() => intervenedLogits(model, { ...batch, layer, source, positions: tf.zeros([2, 5]), training: false }).arraySync());
      assert.ok(near(none, plain), `layer ${layer}: nothing swapped`);
      [all, some].forEach((t) => t.dispose());
    }
    source.dispose();
    assert.throws(() => intervenedLogits(model, { ...batch, layer: 4, source, positions: batch.mask, training: false }), /layer 4 does not exist: use 0 \(embeddings\) .. 3/);
  } finally {
    disposeBatch(batch);
  }
  model.dispose();
});

test("interchange pairs: another example as source, positions real in both, seeded", () => {
  const lengths = [3, 7, 5, 2, 6];
  const pairs = interchangePairs({ lengths, fraction: 0.5, rng: new Rng(3) });
  pairs.source.forEach((s, i) => assert.ok(s !== i && s >= 0 && s < lengths.length, `source of ${i} is ${s}`));
  pairs.positions.forEach((ps, i) => {
    assert.ok(ps.length >= 1, `example ${i} swaps at least one position`);
    ps.forEach((p) => assert.ok(p < Math.min(lengths[i], lengths[pairs.source[i]]), `position ${p} is real in both ${i} and ${pairs.source[i]}`));
  });
  assert.deepEqual(interchangePairs({ lengths, fraction: 0.5, rng: new Rng(3) }), pairs, "same seed, same pairs");
  const { source, positions } = pairTensors(pairs, 7);
  assert.deepEqual(Array.from(tf.sum(positions, 1).dataSync()), pairs.positions.map((p) => p.length));
  [source, positions].forEach((t) => t.dispose());
  assert.throws(() => interchangePairs({ lengths: [4], rng: new Rng(1) }), /at least two examples/);
  assert.throws(() => interchangePairs({ lengths, fraction: 0, rng: new Rng(1) }), /fraction \(0\) must be in \(0, 1\]/);
});

test("counterfactual objective: zero when the student is the teacher's twin; gradients only into the student; flat memory", () => {
  const teacher = cnn(1, 3);
  const twin = cnn(1, 3); // same seed, same weights: the same function under every intervention
  const objective = { counterfactual: 1, interchange: { studentLayer: 2, teacherLayer: 2 } };
  const sameD = new Distiller({ student: twin, teachers: [teacher], objective });
  const examples = toy(12, 5);
  const b1 = sameD.collate(examples);
  const zero = tf.tidy(() => sameD.terms(b1, false).parts.counterfactual!.dataSync()[0]);
  assert.ok(Math.abs(zero) < 1e-6, `a twin matches the teacher under every intervention: loss ${zero}`);
  disposeBatch(b1);

  const student = cnn(2, 2, 8); // narrower and shallower: the interventions live in each model's own layers
  const d = new Distiller({ student, teachers: [teacher], objective: { counterfactual: 1, interchange: { studentLayer: 1, teacherLayer: 2 } }, seed: 4 });
  const batch = d.collate(examples);
  try {
    const value = tf.tidy(() => d.terms(batch, false).parts.counterfactual!.dataSync()[0]);
    assert.ok(value > 1e-4, `a different student does not match the teacher's counterfactual outputs: ${value}`);
    const teacherVars = teacher.parameters();
    const norms = gradNorms(() => d.loss(batch, true), [...teacherVars, ...student.parameters()]);
    assert.ok(norms.slice(0, teacherVars.length).every((g) => g === 0), `teacher gradients: ${norms.slice(0, teacherVars.length)}`);
    assert.ok(norms.slice(teacherVars.length).every((g) => g > 0), `every student parameter gets a gradient: ${norms.slice(teacherVars.length)}`);
  } finally {
    disposeBatch(batch);
  }
  const trainer = new Trainer<DistillExample>(new Distiller({ student, teachers: [teacher], objective: { counterfactual: 1, soft: 1, gold: 1 } }), quiet);
  trainer.trainBatch(examples);
  const start = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) trainer.trainBatch(examples);
  assert.equal(tf.memory().numTensors, start, "tensors leaked");
  trainer.dispose();
  assert.throws(() => new Distiller({ student, objective: { counterfactual: 1 } }), /runs the teacher under interventions: pass the teacher/);
  const rnn = new RnnClassifier({ vocabSize: TOY_VOCAB, embedDim: 8, hidden: 8, dropout: 0 });
  assert.throws(() => new Distiller({ student, teachers: [rnn], objective: { counterfactual: 1 } }), /teacher 0 \(RnnClassifier\) does not expose its layers/);
  assert.throws(() => new Distiller({ student, teachers: [teacher], objective: { counterfactual: 1, interchange: { studentLayer: 3, teacherLayer: 1 } } }), /layer 3 does not exist/);
  [teacher, twin, student, rnn, sameD, d].forEach((m) => m.dispose());
});

test("interchange agreement: 1 between twins, below 1 for a different student", () => {
  const teacher = cnn(1, 3);
  const examples = toy(40, 8);
  const agree = (student: CnnClassifier) => interchangeAgreement({ student, teacher, examples, studentLayer: 1, teacherLayer: 2, seed: 3 });
  const twin = cnn(1, 3);
  assert.equal(interchangeAgreement({ student: twin, teacher, examples, studentLayer: 2, teacherLayer: 2, seed: 3 }), 1);
  const other = cnn(9, 2);
  const a = agree(other);
  assert.ok(a >= 0 && a < 1, `a random student agrees on ${a} of the counterfactuals`);
  [teacher, twin, other].forEach((m) => m.dispose());
});

// ------------------------------------------------------------------------- self-distillation of lower layers

test("self-distillation: the mimicry term reaches the lower heads and layers, never the top (the held target)", () => {
  const model = cnn(1, 3);
  const sd = new SelfDistiller({ model, alpha: 0.5, temperature: 3, hidden: 0.1 });
  assert.equal(sd.heads.length, 2);
  assert.equal(sd.numExits, 3);
  const batch = sd.collate(toy(16, 2));
  try {
    const named = model.namedParameters();
    const pick = (prefix: string) => [...named].filter(([n]) => n.startsWith(prefix)).map(([, v]) => v);
    const groups = { top: [...pick("head."), ...pick("conv2.")], lower: [...pick("conv0."), ...pick("embedding."), ...sd.heads.flatMap((h) => h.parameters())] };
    const mimicry = gradNorms(() => sd.terms(batch, true).mimicry, [...groups.top, ...groups.lower]);
    const topN = groups.top.length;
    assert.ok(mimicry.slice(0, topN).every((g) => g === 0), `the top head and top layer get no mimicry gradient: ${mimicry.slice(0, topN)}`);
    assert.ok(mimicry.slice(topN).every((g) => g > 0), `lower heads and layers do: ${mimicry.slice(topN)}`);
    // So does the feature term (lower layers' states towards the held top layer's); the top layer gets none.
    const conv1 = pick("conv1.");
    const hidden = gradNorms(() => sd.terms(batch, true).hidden, [...pick("conv2."), ...conv1]);
    assert.ok(hidden.slice(0, -conv1.length).every((g) => g === 0) && hidden.slice(-conv1.length).every((g) => g > 0), `feature-term gradients: ${hidden}`);
    // The top learns from the gold labels: the total loss reaches it.
    const total = gradNorms(() => sd.loss(batch, true), groups.top);
    assert.ok(total.every((g) => g > 0), `the top learns from its own CE: ${total}`);
    // Exits: one [b, k] per layer, the last is the model's own output.
    const exits = sd.exitLogits(batch, false);
    assert.equal(exits.length, 3);
    exits.forEach((z) => assert.deepEqual(z.shape, [16, 2]));
    const own = model.logits(batch, false);
    assert.ok(near(exits[2].arraySync(), own.arraySync()));
    [...exits, own].forEach((t) => t.dispose());
  } finally {
    disposeBatch(batch);
  }
  assert.throws(() => new SelfDistiller({ model: cnn(1, 1) }), /1 layer: self-distillation needs a lower layer/);
  assert.throws(() => new SelfDistiller({ model, alpha: 1.5 }), /alpha \(1.5\) must be in \[0, 1\]/);
  assert.throws(() => new SelfDistiller({ model, temperature: 0 }), /temperature \(0\) must be a positive number/);
  sd.dispose();
  model.dispose();
});

test("self-distillation trains through the one Trainer with flat memory, and every exit learns the task", async () => {
  const model = cnn(2, 2);
  const sd = new SelfDistiller({ model, alpha: 0.5 });
  const trainer = new Trainer<LabelledIds>(sd, { ...quiet, epochs: 12, batchSize: 32, learningRate: 1e-2 });
  const data = toy(400, 3);
  trainer.trainBatch(data.slice(0, 32));
  const start = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) trainer.trainBatch(data.slice(0, 32));
  assert.equal(tf.memory().numTensors, start, "tensors leaked");
  await trainer.fit(data);
  const dev = toy(200, 77);
  const batch = sd.collate(dev);
  const acc = tf.tidy(() => sd.exitLogits(batch, false).map((z) => tf.mean(tf.equal(tf.argMax(z, 1), batch.labels).toFloat()).dataSync()[0]));
  disposeBatch(batch);
  acc.forEach((a, l) => assert.ok(a > 0.85, `exit ${l + 1} accuracy ${a}`));
  sd.dispose();
  model.dispose();
});

// ------------------------------------------------------------------------------- one teacher per task (BAM)

test("one teacher per task: each example's targets are its own task's teacher's, and its own head learns", () => {
  const teachers = [cnn(1, 1), cnn(2, 1)];
  const examples: TaskExample[] = toy(10, 4).map((e, i) => ({ ...e, task: i % 2 }));
  const labelled = labelPerTask({ teachers, examples });
  const own = teacherLogitsFor(teachers, examples); // [example][teacher][class]
  labelled.forEach((e, i) => {
    assert.equal(e.teacherLogits!.length, 1, "one teacher row per example");
    assert.ok(near(e.teacherLogits!, [own[i][e.task]]), `example ${i} (task ${e.task}) carries its own teacher's logits`);
    assert.ok(!near(e.teacherLogits!, [own[i][1 - e.task]], 1e-3), `example ${i}: not the other task's teacher's`);
  });
  const student = cnn(3, 1);
  const mt = new MultiTaskDistiller({ student, tasks: ["A", "B"], soft: 1, gold: 0, temperature: 2 });
  const batch = mt.collate(labelled);
  try {
    const want = tf.tidy(() => tf.softmax(tf.tensor2d(labelled.map((e) => own[labelled.indexOf(e)][e.task])).div(2)).arraySync() as number[][]);
    assert.ok(near((batch.targets as tf.Tensor2D).arraySync(), want, 1e-6), "soft targets at T from each example's own teacher");
    // logits pick each example's own task head.
    const z = mt.logits(batch, false).arraySync();
    const enc = tf.tidy(() => student.encode(batch.ids as tf.Tensor2D, batch.mask as tf.Tensor2D, false));
    const head0 = tf.tidy(() => student.classify(enc).arraySync());
    const head1 = tf.tidy(() => (mt.heads[0].apply(enc) as tf.Tensor2D).arraySync());
    enc.dispose();
    labelled.forEach((e, i) => assert.ok(near([z[i]], [e.task === 0 ? head0[i] : head1[i]]), `example ${i} is scored by task ${e.task}'s head`));
  } finally {
    disposeBatch(batch);
  }
  // A batch of task B only moves task B's head, not task A's.
  const onlyB = mt.collate(labelled.filter((e) => e.task === 1));
  const headA = [...student.namedParameters()].filter(([n]) => n.startsWith("head.")).map(([, v]) => v);
  const norms = gradNorms(() => mt.loss(onlyB, true), [...headA, ...mt.heads[0].parameters()]);
  disposeBatch(onlyB);
  assert.ok(norms.slice(0, headA.length).every((g) => g === 0), `task A's head: ${norms}`);
  assert.ok(norms.slice(headA.length).every((g) => g > 0), `task B's head: ${norms}`);
  assert.throws(() => labelPerTask({ teachers, examples: [{ ids: [9], label: 0, task: 2 }] }), /task 2 is not a task id in 0..1/);
  assert.throws(() => new MultiTaskDistiller({ student, tasks: ["A"] }), /at least two task names/);
  const bare = mt.collate(examples);
  assert.throws(() => mt.loss(bare, true), /no teacherLogits: label them first with labelPerTask/);
  disposeBatch(bare);
  [...teachers, student, mt].forEach((m) => m.dispose());
});

test("a multi-task student learns two tasks from their own teachers with flat memory", async () => {
  // Task B is task A with the signal tokens swapped for others (10 and 11): one encoder, two heads.
  const taskB = (xs: LabelledIds[]) => xs.map((e) => ({ ids: e.ids.map((id) => (id === 7 ? 10 : id === 8 ? 11 : id === 10 || id === 11 ? 12 : id)), label: e.label }));
  const [a, b] = [toy(300, 1), taskB(toy(300, 2))];
  const teachers = [cnn(1, 1), cnn(2, 1)];
  for (const [t, data] of [[teachers[0], a], [teachers[1], b]] as const) await new Trainer<LabelledIds>(t, { ...quiet, epochs: 12, batchSize: 32, learningRate: 1e-2 }).fit(data);
  const train = labelPerTask({ teachers, examples: [...a.map((e) => ({ ...e, task: 0 })), ...b.map((e) => ({ ...e, task: 1 }))] });
  const student = cnn(5, 1);
  const mt = new MultiTaskDistiller({ student, tasks: ["A", "B"], soft: 1, gold: 1 });
  const trainer = new Trainer<TaskExample>(mt, { ...quiet, epochs: 12, batchSize: 32, learningRate: 1e-2 });
  trainer.trainBatch(train.slice(0, 32));
  const start = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) trainer.trainBatch(train.slice(0, 32));
  assert.equal(tf.memory().numTensors, start, "tensors leaked");
  await trainer.fit(train);
  const devA = toy(200, 50).map((e) => ({ ...e, task: 0 }));
  const devB = taskB(toy(200, 51)).map((e) => ({ ...e, task: 1 }));
  for (const [name, dev] of [["A", devA], ["B", devB]] as const) {
    const acc = trainer.score(dev, "accuracy");
    assert.ok(acc > 0.85, `task ${name}: ${acc}`);
  }
  [...teachers, student, mt].forEach((m) => m.dispose());
});
