// Co-distillation (lecture 6's fourth mode): two or more models learn together, each from the others' current
// predictions — "online" distillation, deep mutual learning (Zhang et al. 2018). There is no frozen teacher:
// one Trainer step updates every model, each pulled towards the others' distribution of the moment.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { ClassifierModel, TensorBatch } from "../train/model";
import { hardLabelLoss, softTargetLoss, softTargets, stopGradient } from "../train/distill";
import { SentenceClassifier } from "./classifier";
import { DistillExample, checkCompatible } from "./teacher_outputs";

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
export class CoDistiller extends Module implements ClassifierModel<DistillExample, TensorBatch> {
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

  collate(examples: DistillExample[]): TensorBatch {
    const batch: TensorBatch = { gold: tf.tensor1d(examples.map((e) => (e.label === null || e.label === undefined ? 0 : 1)), "float32") };
    this.models.forEach((m, i) => {
      const b = m.collate(examples.map((e) => ({ ids: e.ids, label: e.label ?? 0 })));
      batch[`m${i}_ids`] = b.ids;
      batch[`m${i}_mask`] = b.mask;
      if (i === 0) batch.labels = b.labels;
      else b.labels.dispose();
    });
    return batch;
  }

  private memberLogits(batch: TensorBatch, training: boolean): tf.Tensor2D[] {
    return this.models.map((m, i) => m.logits({ ids: batch[`m${i}_ids`], mask: batch[`m${i}_mask`], labels: batch.labels } as never, training));
  }

  logits(batch: TensorBatch, training: boolean): tf.Tensor2D {
    return tf.tidy(() => tf.log(tf.mean(tf.stack(this.memberLogits(batch, training).map((z) => tf.softmax(z))), 0)) as tf.Tensor2D);
  }

  loss(batch: TensorBatch, training: boolean): tf.Scalar {
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
