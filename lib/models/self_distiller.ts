// Self-distillation inside one network (lecture 6's fourth mode, the second kind): every lower layer gets its
// own classifier head — an *early exit*, as in DeeBERT (Xin et al. 2020), where an easy sentence can leave the
// network before the top — and each lower head learns from the gold labels *and* from the top head of the same
// network, its teacher (Zhang et al. 2019, "Be your own teacher", eq. 1-4). There is no separate teacher: the
// deepest classifier's distribution of the moment is the target, held constant (stopGradient) so that the
// mimicry pulls the lower heads and layers up towards the top, never the top down towards them.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { ClassifierModel } from "../train/model";
import { hardLabelLoss, hiddenMseLoss, softTargetLoss, softTargets, stopGradient } from "../train/distill";
import { ClassifierBatch, LabelledIds } from "./classifier";
import { LayeredClassifier, asLayered, logitsFromTop } from "./intervention";

export interface SelfDistillerOptions {
  /** The network whose layers get exits (a LayeredClassifier: the course's CnnClassifier). Its own head is the top exit. */
  model: LayeredClassifier;
  /**
   * α in Zhang et al.'s per-exit loss (1 − α)·CE(head_l, gold) + α·T²·KL(top ‖ head_l). Default 0.5;
   * 0 = every exit learns from gold labels only (a plain multi-exit network: the baseline without self-distillation).
   */
  alpha?: number;
  /** Temperature of the mimicry term (default 3, as Zhang et al.). */
  temperature?: number;
  /** λ: weight of Zhang et al.'s feature term, MSE between layer l's token states and the top layer's (held). Default 0. */
  hidden?: number;
  seed?: number;
}

export interface SelfDistillTerms {
  total: tf.Scalar;
  /** CE(top, gold): the deepest classifier learns from the labels alone. */
  top: tf.Scalar;
  /** Σ over lower exits of CE(head_l, gold). */
  lowerGold: tf.Scalar;
  /** Σ over lower exits of T²·KL(softmax(top/T) held ‖ softmax(head_l/T)). */
  mimicry: tf.Scalar;
  /** Σ over lower exits of MSE(states_l, top states held), real tokens only. */
  hidden: tf.Scalar;
}

/**
 * A network with one classifier head per layer, trained by the one Trainer:
 *
 *     loss = CE(top, y) + Σ_{l < L} [ (1 − α)·CE(head_l, y) + α·T²·KL(softmax(top/T) ‖ softmax(head_l/T)) + λ·MSE(h_l, h_L) ]
 *
 * with the top's distribution and states held (stopGradient). Head l reads layer l's token states (l = 1 ..
 * L − 1), pooled the model's own way; the top exit is the model's own head. Batches are the model's
 * (ids [b, t], mask [b, t], labels [b]); logits() is the top exit's [b, k], exitLogits() every exit's.
 * Errors: a model with fewer than two layers; α outside [0, 1]; T ≤ 0; λ < 0. dispose() frees the exit heads only.
 */
export class SelfDistiller extends Module implements ClassifierModel<LabelledIds, ClassifierBatch> {
  readonly model: LayeredClassifier;
  readonly numClasses: number;
  readonly alpha: number;
  readonly temperature: number;
  readonly hidden: number;
  /** heads[l − 1] classifies layer l's pooled states, l = 1 .. L − 1. */
  readonly heads: Linear[];

  constructor(opts: SelfDistillerOptions) {
    super();
    if (!opts?.model) throw new Error("SelfDistiller needs { model } (a CnnClassifier, whose layers get exits).");
    const model = asLayered(opts.model, "the model");
    if (model.numLayers < 2) throw new Error(`the model has ${model.numLayers} layer: self-distillation needs a lower layer below the top (layers >= 2).`);
    this.alpha = opts.alpha ?? 0.5;
    this.temperature = opts.temperature ?? 3;
    this.hidden = opts.hidden ?? 0;
    if (!(this.alpha >= 0 && this.alpha <= 1)) throw new Error(`alpha (${opts.alpha}) must be in [0, 1]: the share of each lower exit's loss that mimics the top.`);
    if (!(Number.isFinite(this.temperature) && this.temperature > 0)) throw new Error(`temperature (${opts.temperature}) must be a positive number (Zhang et al. use 3).`);
    if (!(Number.isFinite(this.hidden) && this.hidden >= 0)) throw new Error(`hidden (${opts.hidden}) must be a weight >= 0.`);
    this.model = this.addChild("model", model);
    this.numClasses = model.numClasses;
    this.heads = Array.from({ length: model.numLayers - 1 }, (_, i) =>
      this.addChild(`exit${i + 1}`, new Linear({ inDim: model.stateWidth, outDim: model.numClasses, seed: (opts.seed ?? 0) + 101 * (i + 1) })));
  }

  /** Number of exits (= the model's layers). */
  get numExits(): number {
    return this.model.numLayers;
  }

  collate(examples: LabelledIds[]): ClassifierBatch {
    return this.model.collate(examples);
  }

  /** [exit 1 (layer 1) [b, k], ..., exit L (the model's own head) [b, k]] and the states they read. */
  private exits(batch: ClassifierBatch, training: boolean): { logits: tf.Tensor2D[]; states: tf.Tensor3D[] } {
    const states = this.model.layerStates(batch.ids, batch.mask, training).slice(1);
    const lower = this.heads.map((head, i) => head.apply(this.model.pool(states[i], batch.mask)) as tf.Tensor2D);
    return { logits: [...lower, logitsFromTop(this.model, states[states.length - 1], batch.mask)], states };
  }

  /** Every exit's class scores, lowest layer first: L tensors [b, k]. */
  exitLogits(batch: ClassifierBatch, training: boolean): tf.Tensor2D[] {
    return tf.tidy(() => this.exits(batch, training).logits);
  }

  logits(batch: ClassifierBatch, training: boolean): tf.Tensor2D {
    return tf.tidy(() => logitsFromTop(this.model, this.model.tokenStates(batch.ids, batch.mask, training), batch.mask));
  }

  /** Each part of the loss and the total (scalars, nats). Call inside tf.tidy. */
  terms(batch: ClassifierBatch, training: boolean): SelfDistillTerms {
    const { logits, states } = this.exits(batch, training);
    const top = logits[logits.length - 1];
    const T = this.temperature;
    const target = stopGradient(softTargets(top, T)); // the teacher is the top exit of the moment, held
    const topStates = stopGradient(states[states.length - 1]);
    const lower = logits.slice(0, -1);
    const sum = (xs: tf.Scalar[]) => tf.addN(xs) as tf.Scalar;
    const parts = {
      top: hardLabelLoss(top, batch.labels),
      lowerGold: sum(lower.map((z) => hardLabelLoss(z, batch.labels))),
      mimicry: sum(lower.map((z) => softTargetLoss(z, target, { temperature: T }))),
      hidden: this.hidden > 0 ? sum(states.slice(0, -1).map((h) => hiddenMseLoss(h, topStates, { mask: batch.mask }))) : tf.scalar(0),
    };
    const total = tf.addN([parts.top, tf.mul(parts.lowerGold, 1 - this.alpha), tf.mul(parts.mimicry, this.alpha), tf.mul(parts.hidden, this.hidden)]) as tf.Scalar;
    return { total, ...parts };
  }

  loss(batch: ClassifierBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => this.terms(batch, training).total);
  }

  labelOf(example: LabelledIds): number {
    return example.label;
  }

  override dispose(): void {
    this.heads.forEach((h) => h.dispose());
  }
}
