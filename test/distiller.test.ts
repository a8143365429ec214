// The Distiller and CoDistiller as models of the one Trainer: where gradients go (never into a frozen teacher;
// into every model of a co-distillation), the ensemble's targets, bad input, flat memory, and a student that
// learns a task from a teacher's outputs alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CnnClassifier } from "../lib/models/cnn_classifier";
import { RnnClassifier } from "../lib/models/rnn_classifier";
import { TransformerClassifier } from "../lib/models/transformer_classifier";
import { LabelledIds } from "../lib/models/classifier";
import { Distiller, DistillExample } from "../lib/models/distiller";
import { CoDistiller } from "../lib/models/co_distiller";
import { labelWithTeachers, teacherLogitsFor } from "../lib/models/teacher_outputs";
import { softTargetLoss, softTargets } from "../lib/train/distill";
import { Trainer } from "../lib/train/trainer";
import { disposeBatch } from "../lib/train/model";
import { TOY_VOCAB, toySentences } from "./helpers/sentences";

const quiet = { progress: false, plot: false } as const;
const VOCAB = TOY_VOCAB;
const toy = toySentences;

const cnn = (seed: number, width = 16) => new CnnClassifier({ vocabSize: VOCAB, embedDim: 8, width, layers: 1, dropout: 0, seed });
const gradNorms = (f: () => tf.Scalar, vars: tf.Variable[]) =>
  tf.tidy(() => {
    const { grads } = tf.variableGrads(f, vars);
    return vars.map((v) => (grads[v.name] ? tf.norm(grads[v.name]).dataSync()[0] : 0));
  });

test("standard distillation: the frozen teacher gets no gradient and does not change; the student does", async () => {
  const teacher = cnn(1, 24);
  const student = cnn(2, 8); // narrower: the cosine term goes through a learned projection
  const d = new Distiller({ student, teachers: [teacher], objective: { soft: 1, cosine: 1, gold: 1 } });
  assert.ok(d.projection, "widths 8 vs 24 need a projection");
  const teacherVars = teacher.parameters();
  assert.ok(teacherVars.every((v) => !v.trainable), "teachers are frozen");
  const own = new Set(d.trainableVariables());
  assert.ok(teacherVars.every((v) => !own.has(v)), "no teacher variable is trained");
  assert.equal(d.trainableVariables().length, student.trainableVariables().length + 2, "student + projection (weight, bias)");

  const batch = d.collate(toy(16, 3));
  try {
    // Ask for the teacher's gradients explicitly: the teacher's outputs are constants to the loss.
    const norms = gradNorms(() => d.loss(batch, true), [...teacherVars, ...student.parameters()]);
    assert.ok(norms.slice(0, teacherVars.length).every((g) => g === 0), `teacher gradients: ${norms.slice(0, teacherVars.length)}`);
    assert.ok(norms.slice(teacherVars.length).every((g) => g > 0), `every student parameter gets a gradient: ${norms.slice(teacherVars.length)}`);
  } finally {
    disposeBatch(batch);
  }
  const before = teacherVars.map((v) => Array.from(v.dataSync()));
  const studentBefore = Array.from(student.parameters()[0].dataSync());
  await new Trainer<DistillExample>(d, { ...quiet, epochs: 1, batchSize: 8 }).fit(toy(32, 4));
  teacherVars.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), before[i], `teacher ${v.name} changed`));
  assert.notDeepEqual(Array.from(student.parameters()[0].dataSync()), studentBefore, "the student trained");
  [d, teacher, student].forEach((m) => m.dispose());
});

test("co-distillation: one Trainer step moves both models, each towards the other's current (held) prediction", () => {
  const a = cnn(1);
  const b = new RnnClassifier({ vocabSize: VOCAB, embedDim: 8, hidden: 8, dropout: 0, seed: 2 });
  const co = new CoDistiller({ models: [a, b], gold: 0, mutual: 1, temperature: 2 });
  assert.equal(co.trainableVariables().length, a.trainableVariables().length + b.trainableVariables().length);
  const examples = toy(12, 5);
  const batch = co.collate(examples);
  try {
    const norms = gradNorms(() => co.loss(batch, true), [...a.parameters(), ...b.parameters()]);
    assert.ok(norms.every((g) => g > 0), `every parameter of both models gets a gradient: ${norms}`);
    // Model a's gradient is that of its own term alone: b's distribution is a target, not pulled towards a.
    const ab = a.collate(examples);
    const bb = b.collate(examples);
    const alone = gradNorms(() => softTargetLoss(a.logits(ab, true), softTargets(b.logits(bb, true), 2), { temperature: 2 }), a.parameters());
    norms.slice(0, alone.length).forEach((g, i) => assert.ok(Math.abs(g - alone[i]) < 1e-5 * Math.max(1, alone[i]), `a's parameter ${i}: ${g} vs ${alone[i]}`));
    [ab, bb].forEach(disposeBatch);
  } finally {
    disposeBatch(batch);
  }
  [a, b].forEach((m) => m.dispose());
});

test("multi-teacher: cached logits of several teachers give their average distribution as targets", () => {
  const t1 = cnn(1);
  const t2 = cnn(2);
  const student = cnn(3);
  const examples = labelWithTeachers({ teachers: [t1, t2], examples: toy(6, 6) });
  assert.equal(examples[0].teacherLogits!.length, 2);
  const d = new Distiller({ student, objective: { soft: 1, temperature: 3 } });
  const batch = d.collate(examples);
  try {
    const want = tf.tidy(() => {
      const per = teacherLogitsFor([t1, t2], examples).map((rows) => rows.map((z) => tf.softmax(tf.tensor1d(z).div(3)).arraySync() as number[]));
      return per.map(([p, q]) => p.map((x, k) => (x + q[k]) / 2));
    });
    const got = (batch.targets as tf.Tensor2D).arraySync();
    got.forEach((row, i) => row.forEach((x, k) => assert.ok(Math.abs(x - want[i][k]) < 1e-6, `target[${i}][${k}] ${x} vs ${want[i][k]}`)));
  } finally {
    disposeBatch(batch);
  }
  [t1, t2, student].forEach((m) => m.dispose());
});

test("cached teacher states give the same hidden-state loss as the live teacher, and must cover the student's tokens", () => {
  const teacher = new RnnClassifier({ vocabSize: VOCAB, embedDim: 8, hidden: 6, dropout: 0, seed: 1 });
  const student = cnn(2, 8);
  const d = new Distiller({ student, teachers: [teacher], objective: { cosine: 1, mse: 0.5, soft: 1 } });
  const plain = toy(10, 8);
  const cached = labelWithTeachers({ teachers: [teacher], examples: plain, states: true });
  assert.equal(cached[0].teacherStates!.length, plain[0].ids.length * teacher.stateWidth);
  const lossOf = (xs: DistillExample[]) => {
    const b = d.collate(xs);
    try {
      return tf.tidy(() => d.loss(b, false).dataSync()[0]);
    } finally {
      disposeBatch(b);
    }
  };
  const live = lossOf(plain);
  assert.ok(Math.abs(lossOf(cached) - live) < 1e-5, `cached ${lossOf(cached)} vs live ${live}`);
  const short = cached.map((e, i) => (i === 3 ? { ...e, teacherStates: e.teacherStates!.slice(teacher.stateWidth) } : e));
  assert.throws(() => lossOf(short), /example 3: the teacher's cached layer has \d+ token states but the student reads \d+ tokens/);
  [d, teacher, student].forEach((m) => m.dispose());
});

test("bad input: different label sets or vocabularies, no objective, T <= 0, states that cannot be tied, missing teacher outputs", () => {
  const student = cnn(1);
  const three = new CnnClassifier({ vocabSize: VOCAB, embedDim: 8, width: 16, layers: 1, numClasses: 3 });
  const otherVocab = new CnnClassifier({ vocabSize: VOCAB + 5, embedDim: 8, width: 16, layers: 1 });
  assert.throws(() => new Distiller({ student, teachers: [three] }), /2 classes but teacher 0 has 3: .*one label set/);
  assert.throws(() => new Distiller({ student, teachers: [otherVocab] }), /vocabulary of 24 types but teacher 0 one of 29/);
  assert.throws(() => new Distiller({ student, objective: {} }), /no term/);
  assert.throws(() => new Distiller({ student, objective: { soft: 1, temperature: 0 } }), /temperature \(0\) must be a positive number/);
  assert.throws(() => new Distiller({ student, objective: { soft: -1 } }), /objective.soft \(-1\) must be a weight >= 0/);
  assert.throws(() => new Distiller({ student, objective: { cosine: 1 } }), /pass the teacher model itself/);
  assert.throws(() => new Distiller({ student, teachers: [student] }), /cannot be its own/);
  assert.throws(() => new CoDistiller({ models: [student] }), /at least two models/);
  // A transformer with [CLS] reads one more position than a CNN: its states cannot be tied token by token.
  const withCls = new TransformerClassifier({ vocabSize: VOCAB, width: 16, heads: 2, layers: 1, pooling: "cls" });
  const d = new Distiller({ student, teachers: [withCls], objective: { cosine: 1 } });
  const batch = d.collate(toy(4, 1));
  assert.throws(() => d.loss(batch, false), /student's layer has \d+ time steps but the teacher's \d+/);
  disposeBatch(batch);
  // Cached logits over the wrong number of classes, and examples with none when no teacher is at hand.
  const soft = new Distiller({ student, objective: { soft: 1 } });
  assert.throws(() => soft.collate([{ ids: [9, 10], label: 1, teacherLogits: [[0, 1, 2]] }]), /3 class scores but the student has 2/);
  const bare = soft.collate([{ ids: [9, 10], label: 1 }]);
  assert.throws(() => soft.loss(bare, true), /carry no teacherLogits.*labelWithTeachers/);
  disposeBatch(bare);
  [student, three, otherVocab, withCls].forEach((m) => m.dispose());
});

test("a student learns the task from a teacher's soft targets on unlabelled sentences alone", async () => {
  const teacher = cnn(1, 16);
  await new Trainer<LabelledIds>(teacher, { ...quiet, epochs: 15, batchSize: 32, learningRate: 1e-2 }).fit(toy(400, 1));
  const dev = toy(300, 99);
  const teacherAcc = new Trainer<LabelledIds>(teacher).score(dev, "accuracy");
  assert.ok(teacherAcc > 0.9, `teacher accuracy ${teacherAcc}`);
  const transfer = labelWithTeachers({ teachers: [teacher], examples: toy(400, 2).map((e) => ({ ids: e.ids, label: null })) });
  const student = cnn(5, 8);
  const d = new Distiller({ student, objective: { soft: 1, temperature: 2 } });
  const trainer = new Trainer<DistillExample>(d, { ...quiet, epochs: 15, batchSize: 32, learningRate: 1e-2 });
  const h = await trainer.fit(transfer);
  const acc = trainer.score(dev, "accuracy");
  assert.ok(acc > 0.85 && acc > teacherAcc - 0.08, `student ${acc} vs teacher ${teacherAcc}`);
  assert.ok(h.steps[h.steps.length - 1].loss < h.steps[0].loss / 3, "the soft-target loss falls");
  [teacher, student].forEach((m) => m.dispose());
});

test("memory stays flat across Distiller and CoDistiller training steps", () => {
  const teacher = cnn(1, 16);
  const student = cnn(2, 8);
  const data = labelWithTeachers({ teachers: [teacher], examples: toy(16, 7), states: true });
  const d = new Distiller({ student, teachers: [teacher], objective: { soft: 1, cosine: 1, mse: 1, teacherLabel: 1, gold: 1 } });
  const other = cnn(3, 8);
  const co = new CoDistiller({ models: [student, other] });
  for (const model of [d, co]) {
    const trainer = new Trainer<DistillExample>(model, quiet);
    trainer.trainBatch(data); // the optimizer's slots are created on the first step
    const start = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) trainer.trainBatch(data);
    assert.equal(tf.memory().numTensors, start, `${model.constructor.name}: tensors leaked`);
    trainer.dispose();
  }
  [d, teacher, student, other].forEach((m) => m.dispose());
});
