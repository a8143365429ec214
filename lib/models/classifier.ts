// The shape every sentence classifier in the course shares: token ids -> encoder -> one vector -> class scores.
//
// RNN, CNN and transformer classifiers differ only in `encode`; batching, the head, the loss and the Trainer
// contract live here once. Examples are { ids, label } with ids already encoded by a Vocab.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { padBatch } from "../data/batching";
import { ClassifierModel } from "../train/model";
import { classificationLoss } from "../train/losses";
import { checkShapes } from "../nn/check";

export interface LabelledIds {
  ids: number[];
  label: number;
}

export type ClassifierBatch = {
  /** [batch, time] int32 */
  ids: tf.Tensor2D;
  /** [batch, time] float32, 1 = real token */
  mask: tf.Tensor2D;
  /** [batch] int32 */
  labels: tf.Tensor1D;
};

export interface ClassifierHeadOptions {
  numClasses?: number;
  /** Truncate longer inputs to this many tokens (default 64). */
  maxLen?: number;
  seed?: number;
}

export abstract class SentenceClassifier extends Module implements ClassifierModel<LabelledIds, ClassifierBatch> {
  readonly numClasses: number;
  readonly maxLen: number;
  private head?: Linear;

  constructor(opts: ClassifierHeadOptions) {
    super();
    this.numClasses = opts.numClasses ?? 2;
    this.maxLen = opts.maxLen ?? 64;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2) throw new Error(`numClasses (${this.numClasses}) must be an integer >= 2.`);
  }

  /** Subclasses call this once they know the width of their sentence vector. */
  protected addHead(width: number, seed: number): void {
    this.head = this.addChild("head", new Linear({ inDim: width, outDim: this.numClasses, seed }));
  }

  /** ids: [b, t] int32, mask: [b, t] -> sentence vectors [b, width]. Padding must not change the result. */
  abstract encode(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor2D;

  /**
   * The last layer's per-token states, before pooling: ids [b, t], mask [b, t] -> [b, t, stateWidth]. The states
   * a distillation student ties to its teacher's (DistilBERT's cosine loss, lib/train/distill.ts); values at
   * padded positions mean nothing and every consumer masks them.
   */
  abstract tokenStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D;

  /** Width of tokenStates' last axis. */
  abstract get stateWidth(): number;

  collate(examples: LabelledIds[]): ClassifierBatch {
    for (const e of examples) {
      if (!Array.isArray(e.ids) || e.ids.length === 0) throw new Error("every example needs a non-empty ids array (encode the text with a Vocab first).");
      if (!(Number.isInteger(e.label) && e.label >= 0 && e.label < this.numClasses)) {
        throw new Error(`label ${e.label} is not a class id in 0..${this.numClasses - 1}.`);
      }
    }
    const { ids, mask } = padBatch(examples.map((e) => e.ids.slice(0, this.maxLen)));
    return { ids, mask, labels: tf.tensor1d(examples.map((e) => e.label), "int32") };
  }

  /** ids [batch, time] int32, mask [batch, time] -> [batch, numClasses] */
  logits(batch: ClassifierBatch, training: boolean): tf.Tensor2D {
    if (!this.head) throw new Error(`${this.constructor.name} did not call addHead() in its constructor.`);
    checkShapes(`${this.constructor.name}.logits`, { ids: [batch.ids, ["batch", "time"]], mask: [batch.mask, ["batch", "time"]] },
      "Build batches with collate(examples).");
    const head = this.head;
    return tf.tidy(() => head.apply(this.encode(batch.ids, batch.mask, training)) as tf.Tensor2D);
  }

  /** The classification head alone: sentence vectors [b, width] (what encode returns) -> logits [b, numClasses]. */
  classify(vectors: tf.Tensor2D): tf.Tensor2D {
    if (!this.head) throw new Error(`${this.constructor.name} did not call addHead() in its constructor.`);
    return this.head.apply(vectors) as tf.Tensor2D;
  }

  loss(batch: ClassifierBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => classificationLoss(this.logits(batch, training), batch.labels));
  }

  labelOf(example: LabelledIds): number {
    return example.label;
  }
}
