// The Distiller: a student and its objective as one model the one Trainer trains (lecture 6). It covers three
// of the four modes: standard distillation (one frozen teacher), multi-teacher (the teachers' averaged
// distributions) and self-distillation (a born-again student of the teacher's own architecture; the
// generations are run by lib/tasks/distillation.ts). The fourth, co-distillation, is co_distiller.ts; a
// network's lower layers mimicking its own top is self_distiller.ts, one teacher per task multi_task.ts.
// The heaviest objective, mimicry under counterfactual inputs (interchange interventions, Wu, Geiger et al.
// 2022), runs the live teacher at every step: its pairs change per batch (intervention.ts).
//
// Examples carry the teachers' outputs, computed once (labelWithTeachers, teacher_outputs.ts): the teacher is
// frozen, so they never change. Without them the Distiller asks its live teachers at every step.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { ClassifierModel, TensorBatch, disposeBatch } from "../train/model";
import {
  hardLabelLoss, hiddenCosineLoss, hiddenMseLoss, softTargetLoss, softTargets, teacherLabels, SoftTargetForm,
} from "../train/distill";
import { SentenceClassifier } from "./classifier";
import { DistillExample, checkCompatible, collateTeacherStates, teacherLogitsFor } from "./teacher_outputs";
import { asLayered, checkIntervention, interchangePairs, intervenedLogits, pairTensors } from "./intervention";
import { Rng } from "../random";

export type { DistillExample } from "./teacher_outputs";

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
  /**
   * Mimicry under counterfactual inputs (Wu, Geiger et al. 2022, DIITO): T²·KL between the first teacher's and
   * the student's outputs when both run with an interchange intervention (lib/models/intervention.ts) at
   * aligned layers — the same base, source and positions for both. Needs live, layered teacher and student.
   */
  counterfactual?: number;
  /** Where the counterfactual term intervenes (default: student layer 1, teacher layer 1, 30% of positions). */
  interchange?: InterchangeAlignment;
}

/** Aligned layers of student and teacher (Intervention.layer numbering) and the share of positions swapped. */
export interface InterchangeAlignment {
  studentLayer: number;
  teacherLayer: number;
  fraction?: number;
}

const WEIGHTS = ["gold", "teacherLabel", "soft", "cosine", "mse", "counterfactual"] as const;

function checkObjective(o: DistillObjective): Required<DistillObjective> {
  const full = {
    gold: 0, teacherLabel: 0, soft: 0, cosine: 0, mse: 0, counterfactual: 0, temperature: 2, form: "kl" as SoftTargetForm, ...o,
    interchange: { studentLayer: 1, teacherLayer: 1, fraction: 0.3, ...o.interchange },
  };
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
  /** Draws the counterfactual term's interchange pairs. */
  private readonly rng: Rng;

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
    if (this.objective.counterfactual > 0) {
      const { studentLayer, teacherLayer } = this.objective.interchange;
      if (!this.teachers[0]) throw new Error("the counterfactual term runs the teacher under interventions: pass the teacher model itself ({ teachers: [teacher] }).");
      checkIntervention({ layer: studentLayer, replace: (h) => h }, asLayered(this.student, "the student").numLayers);
      checkIntervention({ layer: teacherLayer, replace: (h) => h }, asLayered(this.teachers[0], "teacher 0").numLayers);
    }
    this.rng = new Rng(opts.seed ?? 0);
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
      // The teacher's states come from the cache or are computed here, outside the loss's gradient tape:
      // either way they are constants to the student.
      const teacher = this.teachers[0];
      if (examples.every((e) => e.teacherStates)) {
        const lengths = Array.from(tf.tidy(() => tf.sum(student.mask, 1).dataSync()));
        batch.teacherStates = collateTeacherStates(examples, lengths, student.mask.shape[1], teacher.stateWidth);
      } else {
        const tb = teacher.collate(examples.map((e) => ({ ids: e.ids, label: 0 })));
        try {
          batch.teacherStates = tf.tidy(() => teacher.tokenStates(tb.ids, tb.mask, false));
        } finally {
          disposeBatch(tb);
        }
      }
    }
    // A batch of one example has no other example to be its source: the counterfactual term skips it.
    if (this.objective.counterfactual > 0 && examples.length >= 2) this.addInterchange(batch, examples);
    return batch;
  }

  /**
   * The counterfactual term's interchange pairs, and the teacher's soft targets under them, computed here,
   * outside the loss's gradient tape: constants to the student, like every teacher output.
   */
  private addInterchange(batch: DistillBatch, examples: DistillExample[]): void {
    const { teacherLayer, fraction } = this.objective.interchange;
    const lengths = Array.from(tf.tidy(() => tf.sum(batch.mask, 1).dataSync()));
    const pairs = interchangePairs({ lengths, fraction, rng: this.rng });
    const teacher = asLayered(this.teachers[0], "teacher 0");
    const tb = teacher.collate(examples.map((e) => ({ ids: e.ids, label: 0 })));
    const tp = pairTensors(pairs, tb.ids.shape[1]);
    try {
      batch.cfTargets = tf.tidy(() => softTargets(intervenedLogits(teacher, { ids: tb.ids, mask: tb.mask, layer: teacherLayer, ...tp, training: false }), this.objective.temperature));
    } finally {
      disposeBatch({ ...tb, ...tp });
    }
    const sp = pairTensors(pairs, (batch.ids as tf.Tensor2D).shape[1]);
    batch.cfSource = sp.source;
    batch.cfPositions = sp.positions;
  }

  logits(batch: DistillBatch, training: boolean): tf.Tensor2D {
    return this.student.logits(batch as never, training);
  }

  /** The weighted sum of the objective's terms (each a batch mean), a scalar. */
  loss(batch: DistillBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => this.terms(batch, training).total);
  }

  /** Each term's value and the weighted total (the Trainer only needs the total). Call inside tf.tidy. */
  terms(batch: DistillBatch, training: boolean): { total: tf.Scalar; parts: Partial<Record<(typeof WEIGHTS)[number], tf.Scalar>> } {
    const o = this.objective;
    const s = this.logits(batch, training);
    const parts: Partial<Record<(typeof WEIGHTS)[number], tf.Scalar>> = {};
    if (o.gold > 0) parts.gold = hardLabelLoss(s, batch.labels as tf.Tensor1D, batch.gold as tf.Tensor1D);
    if ((o.teacherLabel > 0 || o.soft > 0) && !batch.targets) {
      throw new Error("these examples carry no teacherLogits and the Distiller has no teachers: label them first: labelWithTeachers({ teachers, examples }).");
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
    if (o.counterfactual > 0 && batch.cfTargets) {
      const student = asLayered(this.student, "the student");
      const z = intervenedLogits(student, {
        ids: batch.ids as tf.Tensor2D, mask: batch.mask as tf.Tensor2D, layer: o.interchange.studentLayer,
        source: batch.cfSource as tf.Tensor1D, positions: batch.cfPositions as tf.Tensor2D, training,
      });
      parts.counterfactual = softTargetLoss(z, batch.cfTargets as tf.Tensor2D, { temperature: o.temperature, form: o.form });
    }
    // (Only a one-example batch under a counterfactual-only objective has no term: a zero still tied to the student.)
    if (Object.keys(parts).length === 0) return { total: tf.mul(tf.sum(s), 0) as tf.Scalar, parts };
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

