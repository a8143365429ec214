// Batching: lists of token ids -> padded int32 tensors plus a padding mask.
//
// Padding is what lets a batch be one rectangle; the mask (1 = real token, 0 = padding) is what keeps the
// padding from changing any result. Bucketing by length puts similar lengths together so less is padded.
import * as tf from "@tensorflow/tfjs";
import { PAD_ID } from "./vocab";
import { Rng } from "../random";

export interface PadOptions {
  /** Pad (and truncate) every row to exactly this length; default: the longest row in the batch. */
  length?: number;
  /** Id used for padding (default PAD_ID = 0). */
  padId?: number;
}

export interface PaddedBatch {
  /** [batch, time] int32 token ids. */
  ids: tf.Tensor2D;
  /** [batch, time] float32: 1 for a real token, 0 for padding. */
  mask: tf.Tensor2D;
}

/** Pad plain arrays (no tensors): useful for tests and for building several tensors from one layout. */
export function padIds(seqs: number[][], opts: PadOptions = {}): { ids: number[][]; mask: number[][]; length: number } {
  if (seqs.length === 0) throw new Error("padIds got an empty batch: pass at least one sequence.");
  const padId = opts.padId ?? PAD_ID;
  const longest = Math.max(1, ...seqs.map((s) => s.length));
  const length = opts.length ?? longest;
  if (!Number.isInteger(length) || length <= 0) throw new Error(`length (${length}) must be a positive integer.`);
  const ids = seqs.map((s) => [...s.slice(0, length), ...new Array(Math.max(0, length - s.length)).fill(padId)]);
  const mask = seqs.map((s) => Array.from({ length }, (_, j) => (j < s.length ? 1 : 0)));
  return { ids, mask, length };
}

/** seqs: B lists of ids -> { ids: [B, T] int32, mask: [B, T] float32 } */
export function padBatch(seqs: number[][], opts: PadOptions = {}): PaddedBatch {
  const { ids, mask, length } = padIds(seqs, opts);
  return {
    ids: tf.tensor2d(ids.flat(), [seqs.length, length], "int32"),
    mask: tf.tensor2d(mask.flat(), [seqs.length, length], "float32"),
  };
}

export interface BatchOrderOptions<E> {
  batchSize: number;
  /** Shuffle example order each call (default true). */
  shuffle?: boolean;
  /** Group examples of similar length (sorted within shuffled chunks of 50 batches), then shuffle the batches. */
  bucketBy?: (example: E) => number;
  rng?: Rng;
}

/** Split examples into batches (arrays of examples). The last batch may be smaller. */
export function makeBatches<E>(examples: readonly E[], opts: BatchOrderOptions<E>): E[][] {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize (${batchSize}) must be a positive integer.`);
  const rng = opts.rng ?? new Rng(0);
  const order = examples.map((_, i) => i);
  if (opts.shuffle ?? true) rng.shuffle(order);
  if (opts.bucketBy) {
    // Sort inside large chunks rather than globally, so batches still differ from epoch to epoch.
    const chunk = batchSize * 50;
    for (let s = 0; s < order.length; s += chunk) {
      const part = order.slice(s, s + chunk).sort((a, b) => opts.bucketBy!(examples[a]) - opts.bucketBy!(examples[b]));
      order.splice(s, part.length, ...part);
    }
  }
  const batches: E[][] = [];
  for (let s = 0; s < order.length; s += batchSize) batches.push(order.slice(s, s + batchSize).map((i) => examples[i]));
  if (opts.bucketBy && (opts.shuffle ?? true)) rng.shuffle(batches);
  return batches;
}
