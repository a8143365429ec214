// The contract between a model and the one Trainer (in the spirit of cs224u's TorchModelBase).
//
// A model says how to turn examples into tensors (`collate`) and how to score a batch (`loss`); the Trainer
// owns everything else: batching, shuffling, the optimizer, clipping, schedules, early stopping, progress,
// plots, checkpoints. Classifiers add `logits` so the Trainer can `predict`, `predictProba` and `score`.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";

/** A batch is a record of tensors; the Trainer disposes every tensor in it after the step. */
export type TensorBatch = { [key: string]: tf.Tensor };

export interface Trainable<E, B extends TensorBatch = TensorBatch> extends Module {
  /** Examples -> tensors for one batch. Called outside tf.tidy; the Trainer disposes the result. */
  collate(examples: E[]): B;
  /** Mean training loss over the batch, a scalar. `training` switches dropout on. */
  loss(batch: B, training: boolean): tf.Scalar;
  /** Optional JSON-able config, saved in checkpoints and verified on load. */
  config?(): Record<string, unknown>;
}

/** A model that outputs a class distribution per example. */
export interface ClassifierModel<E, B extends TensorBatch = TensorBatch> extends Trainable<E, B> {
  readonly numClasses: number;
  /** Unnormalised class scores: [batch, numClasses]. */
  logits(batch: B, training: boolean): tf.Tensor2D;
  /** The gold label of an example (for score()). */
  labelOf(example: E): number;
}

export function isClassifier<E, B extends TensorBatch>(m: Trainable<E, B>): m is ClassifierModel<E, B> {
  return typeof (m as unknown as { logits?: unknown }).logits === "function";
}

/** Dispose every tensor in a batch. */
export function disposeBatch(batch: TensorBatch): void {
  for (const t of Object.values(batch)) t.dispose();
}
