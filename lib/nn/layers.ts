// The small building blocks every model shares: Linear, Embedding, LayerNorm, dropout, activations.
//
// Written by hand (not tf.layers) because the transformer lecture is about exactly these pieces, and because
// plain tf.Variables compose with our Module, Trainer and checkpoints without a second weight system.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Rng } from "../random";
import { checkIds, shapeText } from "./check";
import { fusedKernelsEnabled, fusedLayerNorm } from "../engine/fused";

function checkPositiveInt(what: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${what} (${value}) must be a positive integer.`);
  }
}

/** Glorot/Xavier uniform: keeps activation variance roughly constant through a linear map. */
export function glorotUniform(shape: [number, number], rng: Rng): tf.Tensor2D {
  const limit = Math.sqrt(6 / (shape[0] + shape[1]));
  return tf.randomUniform(shape, -limit, limit, "float32", rng.seed()) as tf.Tensor2D;
}

export interface LinearOptions {
  inDim: number;
  outDim: number;
  /** Add a bias vector (default true). */
  bias?: boolean;
  seed?: number;
}

/** y = x·W + b on the last axis. x: [..., inDim] -> [..., outDim] */
export class Linear extends Module {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(opts: LinearOptions) {
    super();
    checkPositiveInt("Linear inDim", opts.inDim);
    checkPositiveInt("Linear outDim", opts.outDim);
    this.inDim = opts.inDim;
    this.outDim = opts.outDim;
    const rng = new Rng(opts.seed ?? 0);
    this.weight = this.addParam("weight", glorotUniform([opts.inDim, opts.outDim], rng));
    if (opts.bias ?? true) this.bias = this.addParam("bias", tf.zeros([opts.outDim]));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const last = x.shape[x.rank - 1];
      if (last !== this.inDim) {
        throw new Error(`Linear expected last dimension ${this.inDim}, got input of shape [${x.shape}].`);
      }
      // Fold leading axes into one so a single 2-D matmul does the work (the fast path on every backend).
      const flat = x.rank === 2 ? (x as tf.Tensor2D) : x.reshape([-1, this.inDim]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, this.weight as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.outDim]);
    });
  }
}

export interface EmbeddingOptions {
  vocabSize: number;
  dim: number;
  /** Standard deviation of the normal initialiser (default 0.02, as in BERT/ELECTRA). */
  initStd?: number;
  seed?: number;
}

/** A lookup table: ids: [batch, time] (int32) -> [batch, time, dim]. Its gradient is a segment sum. */
export class Embedding extends Module {
  readonly vocabSize: number;
  readonly dim: number;
  readonly table: tf.Variable;
  constructor(opts: EmbeddingOptions) {
    super();
    checkPositiveInt("Embedding vocabSize", opts.vocabSize);
    checkPositiveInt("Embedding dim", opts.dim);
    this.vocabSize = opts.vocabSize;
    this.dim = opts.dim;
    const rng = new Rng(opts.seed ?? 0);
    this.table = this.addParam("table", tf.randomNormal([opts.vocabSize, opts.dim], 0, opts.initStd ?? 0.02, "float32", rng.seed()));
  }
  /** ids: [...] int32 in [0, vocabSize) -> [..., dim]. Any other id is an error (TensorFlow's GPU gather would return zeros). */
  apply(ids: tf.Tensor): tf.Tensor {
    if (ids.dtype !== "int32") throw new Error(`Embedding ids must be int32, got ${ids.dtype}: build them with tf.tensor(ids, shape, "int32").`);
    checkIds("Embedding", "token id", ids, this.vocabSize,
      `encode text with the vocabulary the model was built for (vocabSize ${this.vocabSize}), or build the model with a larger vocabSize.`);
    return tf.gather(this.table, ids);
  }
}

/** Layer normalisation over the last axis (Ba et al. 2016). x: [..., dim] -> [..., dim] */
export class LayerNorm extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    checkPositiveInt("LayerNorm dim", dim);
    this.gamma = this.addParam("gamma", tf.ones([dim]));
    this.beta = this.addParam("beta", tf.zeros([dim]));
  }
  /** x: [..., dim] -> [..., dim] */
  apply(x: tf.Tensor): tf.Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.dim) {
      throw new Error(`LayerNorm expected last dimension ${this.dim}, got input of shape ${shapeText(x.shape)}: normalise the width it was built for.`);
    }
    // The fused op computes the same formula with its gradient written out (lib/engine/fused/layer_norm.ts).
    if (fusedKernelsEnabled()) return fusedLayerNorm(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.eps);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.gamma), this.beta);
    });
  }
}

/** Inverted dropout, active only while training. The seed comes from the caller's Rng (repeatable runs). */
export function dropout(x: tf.Tensor, rate: number, training: boolean, rng: Rng): tf.Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate (${rate}) must be in [0, 1).`);
  if (!training || rate === 0) return x;
  return tf.dropout(x, rate, undefined, rng.seed());
}

export type Activation = "relu" | "gelu" | "tanh" | "linear";
export const ACTIVATIONS: readonly Activation[] = ["relu", "gelu", "tanh", "linear"];

/** Apply a named non-linearity. GELU uses the tanh approximation of Hendrycks & Gimpel (2016). */
export function activate(x: tf.Tensor, name: Activation): tf.Tensor {
  switch (name) {
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tf.tanh(x);
    case "linear":
      return x;
    case "gelu":
      return tf.tidy(() => {
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x))))); // x·x·x: cheaper than pow
        return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
      });
    default:
      throw new Error(`activation "${name}" is unknown: use one of ${ACTIVATIONS.join(", ")}.`);
  }
}
