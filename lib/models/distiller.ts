// Distillation as models the one Trainer trains (lecture 6). Two shapes cover the four modes:
//
//   Distiller     a student learns from frozen teachers: standard distillation (one teacher), multi-teacher
//                 (their averaged distributions), self-distillation (a born-again student of the teacher's own
//                 architecture; lib/tasks/distillation.ts runs the generations).
//   CoDistiller   two or more models learn together, each from the others' current predictions ("online",
//                 deep mutual learning, Zhang et al. 2018); the Trainer updates all of them in one step.
//
// Examples carry the teachers' logits, computed once (labelWithTeachers) rather than in every epoch: the
// teacher is frozen, so its outputs never change. Unlabelled sentences (a transfer set, Tang et al. 2019) have
// label null and are learned from the teacher only.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { makeBatches } from "../data/batching";
import { ClassifierModel, TensorBatch, disposeBatch } from "../train/model";
import {
  hardLabelLoss, hiddenCosineLoss, hiddenMseLoss, softTargetLoss, softTargets, stopGradient, teacherLabels, SoftTargetForm,
} from "../train/distill";
import { SentenceClassifier } from "./classifier";

export interface DistillExample {
  ids: number[];
  /** The gold label, or null for an unlabelled (transfer-set) sentence. */
  label: number | null;
  /** Cached teacher logits, one row per teacher: [teachers][classes] (labelWithTeachers). */
  teacherLogits?: number[][];
}

/** Weights of the objectives, lightest to heaviest (0 or absent = off), and the soft-target temperature. */
export interface DistillObjective {
  /** Cross-entropy with the gold labels (unlabelled examples are skipped). */
  gold?: number;
  /** Cross-entropy with the teacher's argmax label. */
  teacherLabel?: number;
  /** T² · KL(softmax(t/T) ‖ softmax(s/T)) (Hinton et al. 2015). */
  soft?: number;
  /** T (default 2, DistilBERT's). */
  temperature?: number;
  /** "kl" (default) or "crossEntropy" (adds the teacher's entropy, a constant). */
  form?: SoftTargetForm;
  /** 1 − cos between the student's and the first teacher's last-layer token states (DistilBERT). */
  cosine?: number;
  /** Mean squared difference of those states (TinyBERT). */
  mse?: number;
}

const WEIGHTS = ["gold", "teacherLabel", "soft", "cosine", "mse"] as const;

function checkObjective(o: DistillObjective): Required<DistillObjective> {
  const full = { gold: 0, teacherLabel: 0, soft: 0, cosine: 0, mse: 0, temperature: 2, form: "kl" as SoftTargetForm, ...o };
  for (const k of WEIGHTS) {
    if (!(Number.isFinite(full[k]) && full[k] >= 0)) throw new Error(`objective.${k} (${full[k]}) must be a weight >= 0.`);
  }
  if (WEIGHTS.every((k) => full[k] === 0)) throw new Error(`the objective has no term: give at least one of ${WEIGHTS.join(", ")} a positive weight, e.g. { soft: 1 }.`);
  if (!(Number.isFinite(full.temperature) && full.temperature > 0)) {
    throw new Error(`objective.temperature (${full.temperature}) must be a positive number (1 = plain softmax; Hinton et al. use 1-20).`);
  }
  if (full.form !== "kl" && full.form !== "crossEntropy") throw new Error(`objective.form "${full.form}" is unknown: use "kl" or "crossEntropy".`);
  return full;
}

function vocabSizeOf(m: SentenceClassifier): unknown {
  return (m as { config?: () => Record<string, unknown> }).config?.().vocabSize;
}

/** Models that will be compared output by output must share the label set and the vocabulary. */
function checkCompatible(a: SentenceClassifier, b: SentenceClassifier, names: [string, string]): void {
  if (a.numClasses !== b.numClasses) {
    throw new Error(`${names[0]} has ${a.numClasses} classes but ${names[1]} has ${b.numClasses}: distillation needs one label set (same numClasses, same label order).`);
  }
  const [va, vb] = [vocabSizeOf(a), vocabSizeOf(b)];
  if (va !== undefined && vb !== undefined && va !== vb) {
    throw new Error(`${names[0]} reads a vocabulary of ${va} types but ${names[1]} one of ${vb}: build both on the same Vocab, or the same ids would mean different words.`);
  }
}

/** Cached teacher outputs: each teacher's logits (inference mode) for each example. → [examples][teachers][classes] */
export function teacherLogitsFor(teachers: SentenceClassifier[], examples: { ids: number[] }[], batchSize = 256): number[][][] {
  if (teachers.length === 0) throw new Error("teacherLogitsFor needs at least one teacher.");
  const out: number[][][] = examples.map(() => []);
  for (const teacher of teachers) {
    let i = 0;
    for (const group of makeBatches(examples.map((e) => ({ ids: e.ids, label: 0 })), { batchSize, shuffle: false })) {
      const batch = teacher.collate(group);
      try {
        const rows = tf.tidy(() => teacher.logits(batch, false).arraySync() as number[][]);
        for (const r of rows) out[i++].push(r);
      } finally {
        disposeBatch(batch);
      }
    }
  }
  return out;
}

/** The examples with every teacher's logits attached: compute once, train many students and epochs on them. */
export function labelWithTeachers<E extends { ids: number[]; label: number | null }>(teachers: SentenceClassifier[], examples: E[]): (E & DistillExample)[] {
  const logits = teacherLogitsFor(teachers, examples);
  return examples.map((e, i) => ({ ...e, teacherLogits: logits[i] }));
}

export type DistillBatch = TensorBatch;

export interface DistillerOptions {
  student: SentenceClassifier;
  /**
   * Frozen teachers, run in inference mode. Needed for the hidden-state terms (the first teacher's states), and
   * to label examples that carry no cached teacherLogits. Made non-trainable here.
   */
  teachers?: SentenceClassifier[];
  /** Default { soft: 1, temperature: 2 }. */
  objective?: DistillObjective;
  /** Seed of the projection's init (when student and teacher widths differ). */
  seed?: number;
}

/**
 * A student and its objective as one Trainable: `new Trainer(new Distiller({ student, teachers, objective }))`.
 * Only the student (and the projection of its states, if widths differ) is trained; teachers get no gradient.
 * logits/predict/score are the student's. dispose() frees the projection only: student and teachers are yours.
 */
export class Distiller extends Module implements ClassifierModel<DistillExample, DistillBatch> {
  readonly student: SentenceClassifier;
  readonly teachers: SentenceClassifier[];
  readonly objective: Required<DistillObjective>;
  readonly numClasses: number;
  /** Maps student states to the teacher's width for the hidden terms (FitNets' regressor, Romero et al. 2015). */
  readonly projection?: Linear;

  constructor(opts: DistillerOptions) {
    super();
    if (!opts || !opts.student) throw new Error("Distiller needs { student } (a SentenceClassifier).");
    this.student = this.addChild("student", opts.student);
    this.teachers = opts.teachers ?? [];
    this.objective = checkObjective(opts.objective ?? { soft: 1 });
    this.numClasses = this.student.numClasses;
    this.teachers.forEach((t, i) => {
      if (t === opts.student) throw new Error("the student cannot be its own (frozen) teacher: train a copy (born-again) or use CoDistiller.");
      checkCompatible(opts.student, t, ["the student", `teacher ${i}`]);
      t.setTrainable(false);
    });
    if (this.usesHidden()) {
      const teacher = this.teachers[0];
      if (!teacher) throw new Error("the cosine/mse terms compare hidden states: pass the teacher model itself ({ teachers: [teacher] }).");
      if (teacher.stateWidth !== this.student.stateWidth) {
        this.projection = this.addChild("projection", new Linear({ inDim: this.student.stateWidth, outDim: teacher.stateWidth, seed: opts.seed ?? 0 }));
      }
    }
  }

  private usesTeacherOutputs(): boolean {
    return this.objective.soft > 0 || this.objective.teacherLabel > 0;
  }

  private usesHidden(): boolean {
    return this.objective.cosine > 0 || this.objective.mse > 0;
  }

  config(): Record<string, unknown> {
    return { student: (this.student as { config?: () => Record<string, unknown> }).config?.() ?? this.student.constructor.name, objective: this.objective };
  }

  /**
   * Student inputs, gold labels and weights, and the teachers' soft targets at T (+ their argmax labels): from
   * the examples' cached teacherLogits, else from the live teachers. Examples with neither (e.g. dev sentences
   * for predict()) get no targets; loss() then says what is missing.
   */
  collate(examples: DistillExample[]): DistillBatch {
    const k = this.numClasses;
    let logits: number[][][] | undefined;
    if (this.usesTeacherOutputs() && (this.teachers.length > 0 || examples.every((e) => e.teacherLogits))) {
      const computed = examples.some((e) => !e.teacherLogits) ? teacherLogitsFor(this.teachers, examples) : undefined;
      logits = examples.map((e, i) => e.teacherLogits ?? computed![i]);
      const teachers = logits[0].length;
      for (const rows of logits) {
        if (rows.length !== teachers) throw new Error(`examples disagree on the number of teachers (${rows.length} vs ${teachers}): label every example with the same teachers.`);
        for (const r of rows) if (r.length !== k) throw new Error(`a teacher gave ${r.length} class scores but the student has ${k} classes: distil over the same label set.`);
      }
    }
    const student = this.student.collate(examples.map((e) => ({ ids: e.ids, label: e.label ?? 0 })));
    const batch: DistillBatch = { ...student, gold: tf.tensor1d(examples.map((e) => (e.label === null || e.label === undefined ? 0 : 1)), "float32") };
    if (logits) {
      const T = this.objective.temperature;
      batch.targets = tf.tidy(() => softTargets(tf.transpose(tf.tensor3d(logits!), [1, 0, 2]) as tf.Tensor3D, T)); // [teachers, b, k] -> [b, k]
      batch.teacherLabels = teacherLabels(batch.targets as tf.Tensor2D);
    }
    if (this.usesHidden()) {
      // The teacher's states are computed here, outside the loss's gradient tape: constants to the student.
      const teacher = this.teachers[0];
      const tb = teacher.collate(examples.map((e) => ({ ids: e.ids, label: 0 })));
      try {
        batch.teacherStates = tf.tidy(() => teacher.tokenStates(tb.ids, tb.mask, false));
      } finally {
        disposeBatch(tb);
      }
    }
    return batch;
  }

  logits(batch: DistillBatch, training: boolean): tf.Tensor2D {
    return this.student.logits(batch as never, training);
  }

  /** The weighted sum of the objective's terms (each a batch mean), a scalar. */
  loss(batch: DistillBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => this.terms(batch, training).total);
  }

  /** Each term's value and the weighted total (the Trainer only needs the total; notebooks may plot the parts). */
  terms(batch: DistillBatch, training: boolean): { total: tf.Scalar; parts: Partial<Record<(typeof WEIGHTS)[number], tf.Scalar>> } {
    const o = this.objective;
    const s = this.logits(batch, training);
    const parts: Partial<Record<(typeof WEIGHTS)[number], tf.Scalar>> = {};
    if (o.gold > 0) parts.gold = hardLabelLoss(s, batch.labels as tf.Tensor1D, batch.gold as tf.Tensor1D);
    if ((o.teacherLabel > 0 || o.soft > 0) && !batch.targets) {
      throw new Error("these examples carry no teacherLogits and the Distiller has no teachers: label them first (labelWithTeachers(teachers, examples)).");
    }
    if (o.teacherLabel > 0) parts.teacherLabel = hardLabelLoss(s, batch.teacherLabels as tf.Tensor1D);
    if (o.soft > 0) parts.soft = softTargetLoss(s, batch.targets as tf.Tensor2D, { temperature: o.temperature, form: o.form });
    if (this.usesHidden()) {
      let h = this.student.tokenStates(batch.ids as tf.Tensor2D, batch.mask as tf.Tensor2D, training);
      if (this.projection) h = this.projection.apply(h) as tf.Tensor3D;
      const opts = { mask: batch.mask as tf.Tensor2D };
      if (o.cosine > 0) parts.cosine = hiddenCosineLoss(h, batch.teacherStates, opts);
      if (o.mse > 0) parts.mse = hiddenMseLoss(h, batch.teacherStates, opts);
    }
    const total = tf.addN(Object.entries(parts).map(([k, v]) => tf.mul(v!, o[k as (typeof WEIGHTS)[number]]))) as tf.Scalar;
    return { total, parts };
  }

  labelOf(example: DistillExample): number {
    if (example.label === null || example.label === undefined) throw new Error("score() needs gold labels: this example is unlabelled (label null).");
    return example.label;
  }

  override dispose(): void {
    this.projection?.dispose();
  }
}

export interface CoDistillerOptions {
  /** Two or more models over the same labels and vocabulary; all of them train. */
  models: SentenceClassifier[];
  /** Weight of each model's gold-label cross-entropy (default 1). */
  gold?: number;
  /** Weight of each model's soft-target loss towards the others' average distribution (default 1). */
  mutual?: number;
  /** Temperature of the mutual term (default 1, as in deep mutual learning). */
  temperature?: number;
}

/**
 * Co-distillation / deep mutual learning (Zhang et al. 2018): model i minimises
 *   gold · CE(y, p_i) + mutual · T²·KL(avg_{j≠i} p_j^T ‖ p_i^T),
 * where the others' distributions are the current predictions, held constant (stopGradient) for model i's
 * term. Summed over models, one Trainer step updates every model. logits() is the ensemble: log of the
 * models' average distribution. dispose() leaves the models to you.
 */
export class CoDistiller extends Module implements ClassifierModel<DistillExample, DistillBatch> {
  readonly models: SentenceClassifier[];
  readonly numClasses: number;
  readonly weights: { gold: number; mutual: number; temperature: number };

  constructor(opts: CoDistillerOptions) {
    super();
    const models = opts?.models ?? [];
    if (models.length < 2) throw new Error(`CoDistiller needs { models } with at least two models (got ${models.length}).`);
    if (new Set(models).size !== models.length) throw new Error("CoDistiller got the same model twice: pass distinct models.");
    models.forEach((m, i) => i > 0 && checkCompatible(models[0], m, ["model 0", `model ${i}`]));
    this.models = models.map((m, i) => this.addChild(`m${i}`, m));
    this.numClasses = models[0].numClasses;
    this.weights = { gold: opts.gold ?? 1, mutual: opts.mutual ?? 1, temperature: opts.temperature ?? 1 };
    for (const k of ["gold", "mutual"] as const) {
      if (!(Number.isFinite(this.weights[k]) && this.weights[k] >= 0)) throw new Error(`${k} (${this.weights[k]}) must be a weight >= 0.`);
    }
    if (!(this.weights.temperature > 0)) throw new Error(`temperature (${this.weights.temperature}) must be a positive number.`);
  }

  collate(examples: DistillExample[]): DistillBatch {
    const batch: DistillBatch = { gold: tf.tensor1d(examples.map((e) => (e.label === null || e.label === undefined ? 0 : 1)), "float32") };
    this.models.forEach((m, i) => {
      const b = m.collate(examples.map((e) => ({ ids: e.ids, label: e.label ?? 0 })));
      batch[`m${i}_ids`] = b.ids;
      batch[`m${i}_mask`] = b.mask;
      if (i === 0) batch.labels = b.labels;
      else b.labels.dispose();
    });
    return batch;
  }

  private memberLogits(batch: DistillBatch, training: boolean): tf.Tensor2D[] {
    return this.models.map((m, i) => m.logits({ ids: batch[`m${i}_ids`], mask: batch[`m${i}_mask`], labels: batch.labels } as never, training));
  }

  logits(batch: DistillBatch, training: boolean): tf.Tensor2D {
    return tf.tidy(() => tf.log(tf.mean(tf.stack(this.memberLogits(batch, training).map((z) => tf.softmax(z))), 0)) as tf.Tensor2D);
  }

  loss(batch: DistillBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => {
      const { gold, mutual, temperature } = this.weights;
      const zs = this.memberLogits(batch, training);
      const probs = zs.map((z) => stopGradient(softTargets(z, temperature)));
      const terms = zs.map((z, i) => {
        const others = probs.filter((_, j) => j !== i);
        const target = others.length === 1 ? others[0] : (tf.mean(tf.stack(others), 0) as tf.Tensor2D);
        return tf.add(
          tf.mul(hardLabelLoss(z, batch.labels as tf.Tensor1D, batch.gold as tf.Tensor1D), gold),
          tf.mul(softTargetLoss(z, target, { temperature }), mutual),
        );
      });
      return tf.addN(terms) as tf.Scalar;
    });
  }

  labelOf(example: DistillExample): number {
    if (example.label === null || example.label === undefined) throw new Error("score() needs gold labels: this example is unlabelled (label null).");
    return example.label;
  }

  override dispose(): void {
    // The models are the caller's: nothing else is owned.
  }
}
