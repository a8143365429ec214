// Position information for the transformer.
//
// Attention is a weighted average over a SET: permute the tokens and every output permutes with them. Word
// order therefore has to be added to the input. Two classic ways, selectable with `positions`:
//   "learned"    — a trainable [maxLen, width] table (BERT, ELECTRA, GPT-2);
//   "sinusoidal" — fixed sines and cosines of geometrically spaced frequencies (Vaswani et al. 2017, §3.5).
// Both are added to the token embeddings: x = embed(ids) + positions(t).
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Rng } from "../random";

export type PositionKind = "learned" | "sinusoidal";
export const POSITION_KINDS: readonly PositionKind[] = ["learned", "sinusoidal"];

/** What the encoder/decoder need from a position scheme. */
export interface Positions extends Module {
  readonly kind: PositionKind;
  readonly maxLen: number;
  readonly width: number;
  /** Position vectors for positions 0..length-1: [length, width] (add to [batch, length, width]). */
  apply(length: number): tf.Tensor2D;
}

export interface PositionOptions {
  maxLen: number;
  width: number;
  /** Learned table only: standard deviation of the normal initialiser (default 0.02, as BERT). */
  initStd?: number;
  seed?: number;
}

function checkOptions(name: string, opts: PositionOptions): void {
  for (const key of ["maxLen", "width"] as const) {
    const v = opts[key];
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} ${key} (${v}) must be a positive integer.`);
  }
}

function checkLength(name: string, length: number, maxLen: number): void {
  if (!Number.isInteger(length) || length <= 0) {
    throw new Error(`${name}: sequence length (${length}) must be a positive integer.`);
  }
  if (length > maxLen) {
    throw new Error(
      `${name}: sequence length (${length}) exceeds maxLen (${maxLen}): truncate inputs to ${maxLen} tokens ` +
        `or build the model with maxLen >= ${length}.`,
    );
  }
}

/** A trainable table of absolute positions: apply(t) -> [t, width]. */
export class LearnedPositions extends Module implements Positions {
  readonly kind = "learned" as const;
  readonly maxLen: number;
  readonly width: number;
  readonly table: tf.Variable;
  constructor(opts: PositionOptions) {
    super();
    checkOptions("LearnedPositions", opts);
    this.maxLen = opts.maxLen;
    this.width = opts.width;
    const rng = new Rng(opts.seed ?? 0);
    this.table = this.addParam(
      "table",
      tf.randomNormal([opts.maxLen, opts.width], 0, opts.initStd ?? 0.02, "float32", rng.seed()),
    );
  }
  apply(length: number): tf.Tensor2D {
    checkLength("LearnedPositions", length, this.maxLen);
    // A slice (not a gather): its gradient is a cheap pad, not a segment sum.
    return tf.slice(this.table, [0, 0], [length, this.width]) as tf.Tensor2D;
  }
}

/**
 * The sinusoidal table of Vaswani et al. (2017), eq. in §3.5, as a JS array:
 *   PE[pos, 2i] = sin(pos / 10000^(2i/width)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/width)).
 * Each pair of columns is a rotation at one frequency, so PE[pos+k] is a linear function of PE[pos].
 * Returns a tensor [length, width].
 */
export function sinusoidalTable(length: number, width: number): tf.Tensor2D {
  const values = new Float32Array(length * width);
  for (let pos = 0; pos < length; pos++) {
    for (let c = 0; c < width; c++) {
      const i2 = c - (c % 2); // the "2i" shared by the sin/cos pair
      const angle = pos / Math.pow(10000, i2 / width);
      values[pos * width + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [length, width]);
}

/**
 * Fixed sinusoidal positions: no parameters. The table is precomputed up to maxLen; longer inputs are
 * refused like the learned table's, so switching `positions` never changes which inputs are valid.
 */
export class SinusoidalPositions extends Module implements Positions {
  readonly kind = "sinusoidal" as const;
  readonly maxLen: number;
  readonly width: number;
  private readonly table: tf.Tensor2D;
  constructor(opts: PositionOptions) {
    super();
    checkOptions("SinusoidalPositions", opts);
    this.maxLen = opts.maxLen;
    this.width = opts.width;
    // Not a parameter (nothing to train or checkpoint); kept alive even if constructed inside tf.tidy.
    this.table = tf.keep(sinusoidalTable(opts.maxLen, opts.width));
  }
  apply(length: number): tf.Tensor2D {
    checkLength("SinusoidalPositions", length, this.maxLen);
    return tf.slice(this.table, [0, 0], [length, this.width]) as tf.Tensor2D;
  }
  override dispose(): void {
    this.table.dispose();
    super.dispose();
  }
}

/** Build a position scheme by name: makePositions("learned" | "sinusoidal", {maxLen, width, seed}). */
export function makePositions(kind: PositionKind, opts: PositionOptions): Positions {
  switch (kind) {
    case "learned":
      return new LearnedPositions(opts);
    case "sinusoidal":
      return new SinusoidalPositions(opts);
    default:
      throw new Error(`positions "${kind}" is unknown: use one of ${POSITION_KINDS.join(", ")}.`);
  }
}
