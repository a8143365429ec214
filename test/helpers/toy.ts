// A tiny MLP classifier on feature vectors, for testing the Trainer without any text machinery.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../../lib/nn/module";
import { Linear } from "../../lib/nn/layers";
import { ClassifierModel } from "../../lib/train/model";
import { classificationLoss } from "../../lib/train/losses";

export interface Point {
  x: number[];
  label: number;
}
type PointBatch = { x: tf.Tensor2D; labels: tf.Tensor1D };

export class ToyMlp extends Module implements ClassifierModel<Point, PointBatch> {
  readonly numClasses = 2;
  private readonly l1: Linear;
  private readonly l2: Linear;
  constructor(readonly inDim = 2, readonly hidden = 16, seed = 0) {
    super();
    this.l1 = this.addChild("l1", new Linear({ inDim, outDim: hidden, seed }));
    this.l2 = this.addChild("l2", new Linear({ inDim: hidden, outDim: 2, seed: seed + 1 }));
  }
  config() {
    return { inDim: this.inDim, hidden: this.hidden };
  }
  collate(examples: Point[]): PointBatch {
    return { x: tf.tensor2d(examples.map((e) => e.x)), labels: tf.tensor1d(examples.map((e) => e.label), "int32") };
  }
  logits(batch: PointBatch): tf.Tensor2D {
    return tf.tidy(() => this.l2.apply(tf.tanh(this.l1.apply(batch.x))) as tf.Tensor2D);
  }
  loss(batch: PointBatch): tf.Scalar {
    return tf.tidy(() => classificationLoss(this.logits(batch), batch.labels));
  }
  labelOf(e: Point): number {
    return e.label;
  }
}

/** XOR with a little noise: needs the hidden layer, so a passing score means real learning. */
export function xorData(n: number, seed = 1): Point[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, () => {
    const a = rand() < 0.5 ? 0 : 1;
    const b = rand() < 0.5 ? 0 : 1;
    return { x: [a + (rand() - 0.5) * 0.2, b + (rand() - 0.5) * 0.2], label: a ^ b };
  });
}
