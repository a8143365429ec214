// Multi-teacher distillation with one teacher per task (Clark et al. 2019, "BAM! Born-again multi-task
// networks"): a multi-task student — one shared encoder, one classifier head per task — where each task's
// examples are distilled from *that task's* single-task teacher, not from an average of teachers. The student
// gets the knowledge of several specialists in one model; the teachers never see each other's tasks.
//
// Examples carry their task and their own teacher's logits, computed once (labelPerTask); the student's
// encoder is shared by every task, the head is the example's task's.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { ClassifierModel, TensorBatch } from "../train/model";
import { hardLabelLoss, softTargetLoss, softTargets } from "../train/distill";
import { SentenceClassifier } from "./classifier";
import { DistillExample, checkCompatible, teacherLogitsFor } from "./teacher_outputs";

/** A distillation example of task `task` (0-based); teacherLogits holds ONE row: its task's teacher's. */
export interface TaskExample extends DistillExample {
  task: number;
}

function checkTask(task: number, tasks: number, where: string): void {
  if (!(Number.isInteger(task) && task >= 0 && task < tasks)) throw new Error(`${where}: task ${task} is not a task id in 0..${tasks - 1}: set each example's task to the index of its task (and teacher).`);
}

/**
 * The examples with their own task's teacher's logits attached: example e gets teachers[e.task]'s [classes]
 * as teacherLogits = [row], and no other teacher's. One inference pass per teacher over its task's examples.
 * Errors: a task without a teacher; teachers over different label sets or vocabularies.
 */
export function labelPerTask<E extends { ids: number[]; label: number | null; task: number }>(o: { teachers: SentenceClassifier[]; examples: E[] }): (E & Pick<DistillExample, "teacherLogits">)[] {
  if (!o?.teachers?.length) throw new Error("labelPerTask needs { teachers: [one model per task], examples }.");
  o.teachers.forEach((t, i) => i > 0 && checkCompatible(o.teachers[0], t, ["teacher of task 0", `teacher of task ${i}`]));
  o.examples.forEach((e, i) => checkTask(e.task, o.teachers.length, `example ${i}`));
  const out = o.examples.map((e) => ({ ...e }) as E & Pick<DistillExample, "teacherLogits">);
  o.teachers.forEach((teacher, task) => {
    const mine = out.filter((e) => e.task === task);
    if (mine.length === 0) return;
    teacherLogitsFor([teacher], mine).forEach((rows, i) => (mine[i].teacherLogits = rows));
  });
  return out;
}

export interface MultiTaskDistillerOptions {
  /** The shared encoder: a SentenceClassifier whose own head is task 0's; tasks 1.. get new heads. */
  student: SentenceClassifier;
  /** Task names, one per teacher (at least two). */
  tasks: string[];
  /** Weight of the gold-label cross-entropy (default 1; unlabelled examples are skipped). */
  gold?: number;
  /** Weight of the soft-target loss towards the example's own task's teacher (default 1; 0 = multi-task on gold only). */
  soft?: number;
  /** Temperature (default 2). */
  temperature?: number;
  seed?: number;
}

/**
 * The BAM student as one model of the one Trainer. Each example i of task τ_i is scored by its task's head:
 *
 *     loss = mean_i [ gold·CE(y_i, head_τi(enc(x_i))) ] + soft·T²·mean_i KL(softmax(t_i/T) ‖ softmax(head_τi(enc(x_i))/T))
 *
 * where t_i is teacher τ_i's logits (cached by labelPerTask). Batches may mix tasks. logits(batch) [b, k] is
 * each example's own task head's; every task has the student's numClasses. (BAM also anneals from teacher to
 * gold targets over training; this keeps a fixed mix.) Errors: fewer than two tasks; negative weights; T ≤ 0;
 * examples whose task has no head, or with no teacher logits when soft > 0. dispose() frees the new heads only.
 */
export class MultiTaskDistiller extends Module implements ClassifierModel<TaskExample, TensorBatch> {
  readonly student: SentenceClassifier;
  readonly tasks: string[];
  readonly numClasses: number;
  readonly weights: { gold: number; soft: number; temperature: number };
  /** heads[τ − 1] is task τ's head, τ >= 1 (task 0 uses the student's own head). */
  readonly heads: Linear[];

  constructor(opts: MultiTaskDistillerOptions) {
    super();
    if (!opts?.student) throw new Error("MultiTaskDistiller needs { student } (the shared encoder, a SentenceClassifier).");
    if (!(opts.tasks?.length >= 2)) throw new Error(`MultiTaskDistiller needs { tasks } with at least two task names (got ${JSON.stringify(opts.tasks)}).`);
    this.student = this.addChild("student", opts.student);
    this.tasks = opts.tasks;
    this.numClasses = opts.student.numClasses;
    this.weights = { gold: opts.gold ?? 1, soft: opts.soft ?? 1, temperature: opts.temperature ?? 2 };
    for (const k of ["gold", "soft"] as const) {
      if (!(Number.isFinite(this.weights[k]) && this.weights[k] >= 0)) throw new Error(`${k} (${this.weights[k]}) must be a weight >= 0.`);
    }
    if (this.weights.gold + this.weights.soft === 0) throw new Error("gold and soft are both 0: give at least one a positive weight.");
    if (!(Number.isFinite(this.weights.temperature) && this.weights.temperature > 0)) throw new Error(`temperature (${this.weights.temperature}) must be a positive number.`);
    this.heads = this.tasks.slice(1).map((_, i) =>
      this.addChild(`head${i + 1}`, new Linear({ inDim: opts.student.stateWidth, outDim: this.numClasses, seed: (opts.seed ?? 0) + 31 * (i + 1) })));
  }

  collate(examples: TaskExample[]): TensorBatch {
    examples.forEach((e, i) => checkTask(e.task, this.tasks.length, `example ${i}`));
    const batch: TensorBatch = {
      ...this.student.collate(examples.map((e) => ({ ids: e.ids, label: e.label ?? 0 }))),
      gold: tf.tensor1d(examples.map((e) => (e.label === null || e.label === undefined ? 0 : 1)), "float32"),
      task: tf.tensor1d(examples.map((e) => e.task), "int32"),
    };
    if (examples.every((e) => e.teacherLogits)) {
      examples.forEach((e, i) => {
        if (e.teacherLogits!.length !== 1 || e.teacherLogits![0].length !== this.numClasses) {
          throw new Error(`example ${i} carries ${e.teacherLogits!.length} teacher rows of ${e.teacherLogits![0]?.length} classes: label with labelPerTask (one row, its task's teacher, ${this.numClasses} classes).`);
        }
      });
      batch.targets = tf.tidy(() => softTargets(tf.tensor2d(examples.map((e) => e.teacherLogits![0])), this.weights.temperature));
    }
    return batch;
  }

  /** Each example's own task head's scores: ids, mask [b, t], task [b] -> [b, k]. */
  logits(batch: TensorBatch, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const v = this.student.encode(batch.ids as tf.Tensor2D, batch.mask as tf.Tensor2D, training);
      const perTask = tf.stack([this.student.classify(v), ...this.heads.map((h) => h.apply(v) as tf.Tensor2D)], 1); // [b, tasks, k]
      const pick = tf.oneHot(batch.task as tf.Tensor1D, this.tasks.length).expandDims(2); // [b, tasks, 1]
      return tf.sum(tf.mul(perTask, pick), 1) as tf.Tensor2D;
    });
  }

  loss(batch: TensorBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => {
      const { gold, soft, temperature } = this.weights;
      const z = this.logits(batch, training);
      const terms: tf.Scalar[] = [];
      if (gold > 0) terms.push(tf.mul(hardLabelLoss(z, batch.labels as tf.Tensor1D, batch.gold as tf.Tensor1D), gold) as tf.Scalar);
      if (soft > 0) {
        if (!batch.targets) throw new Error("soft > 0 but these examples carry no teacherLogits: label them first with labelPerTask({ teachers, examples }).");
        terms.push(tf.mul(softTargetLoss(z, batch.targets as tf.Tensor2D, { temperature }), soft) as tf.Scalar);
      }
      return tf.addN(terms) as tf.Scalar;
    });
  }

  labelOf(example: TaskExample): number {
    if (example.label === null || example.label === undefined) throw new Error("score() needs gold labels: this example is unlabelled (label null).");
    return example.label;
  }

  override dispose(): void {
    this.heads.forEach((h) => h.dispose());
  }
}
