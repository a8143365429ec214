// Convolutional encoders: the lecture's second baseline. A layer sees a window of k tokens; stacking L layers
// (with residual connections to keep deep stacks trainable) sees 1 + L·(k−1)·dilation tokens, and every
// window is computed in parallel — no step waits for another.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { activate, dropout, Activation } from "./layers";
import { Rng } from "../random";
import { checkShapes } from "./check";
import { fusedConv1d, fusedKernelsEnabled } from "../engine/fused";

/** How many input tokens one output position of layer `layers` can see (its receptive field). */
export function receptiveField(opts: { kernel: number; layers: number; dilationGrowth?: number }): number {
  const { kernel, layers } = opts;
  const growth = opts.dilationGrowth ?? 1;
  let field = 1;
  for (let l = 0; l < layers; l++) field += (kernel - 1) * growth ** l;
  return field;
}

export interface ConvBlockOptions {
  width: number;
  kernel?: number;
  dilation?: number;
  activation?: Activation;
  residual?: boolean;
  dropout?: number;
  seed?: number;
}

/**
 * A 'same'-padded 1-D convolution written as what it is: gather each position's window (k shifted copies of
 * the sequence, `dilation` apart), lay them side by side, and multiply by the filters as one matrix.
 * x: [b, t, w], filters: [k, w, out] -> [b, t, out]
 * (This "im2col" form is one big matmul, and unlike tf.conv1d it has gradients for dilation > 1. ConvBlock runs
 * `conv1dSame`, the same function as the backend's own convolution kernels where it has them.)
 */
export function windowMatmul(x: tf.Tensor3D, filters: tf.Tensor3D, dilation = 1): tf.Tensor3D {
  checkShapes("windowMatmul", { filters: [filters, ["k", "width", "out"]], x: [x, ["b", "t", "width"]] }, "Give x the width the filters read.");
  return tf.tidy(() => {
    const [b, t, w] = x.shape;
    const [k, , out] = filters.shape;
    const span = (k - 1) * dilation;
    const left = Math.floor(span / 2);
    const padded = tf.pad(x, [[0, 0], [left, span - left], [0, 0]]);
    const windows = Array.from({ length: k }, (_, j) => padded.slice([0, j * dilation, 0], [b, t, w]));
    const cols = k === 1 ? windows[0] : tf.concat(windows, 2); // [b, t, k·w]
    return tf.matMul(cols.reshape([b * t, k * w]), filters.reshape([k * w, out])).reshape([b, t, out]) as tf.Tensor3D;
  });
}

/**
 * The convolution ConvBlock runs: windowMatmul's numbers, computed by the backend's convolution kernels when it
 * has them (lib/engine/fused/conv.ts: one kernel each way instead of k slices, a concat and their gradients).
 * x: [b, t, w], filters: [k, w, out] -> [b, t, out]
 */
export function conv1dSame(x: tf.Tensor3D, filters: tf.Tensor3D, dilation = 1): tf.Tensor3D {
  checkShapes("conv1dSame", { filters: [filters, ["k", "width", "out"]], x: [x, ["b", "t", "width"]] }, "Give x the width the filters read.");
  if (!Number.isInteger(dilation) || dilation < 1) throw new Error(`dilation (${dilation}) must be a positive integer.`);
  return (fusedKernelsEnabled() ? fusedConv1d(x, filters, dilation) : null) ?? windowMatmul(x, filters, dilation);
}

/** One 1-D convolution over time, width -> width, 'same' padding, optional residual. x: [b, t, w] -> [b, t, w] */
export class ConvBlock extends Module {
  readonly kernel: number;
  readonly dilation: number;
  private readonly filters: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly rng: Rng;

  constructor(readonly opts: ConvBlockOptions) {
    super();
    this.kernel = opts.kernel ?? 3;
    this.dilation = opts.dilation ?? 1;
    if (!Number.isInteger(this.kernel) || this.kernel < 1) throw new Error(`kernel (${this.kernel}) must be a positive integer.`);
    if (!Number.isInteger(this.dilation) || this.dilation < 1) throw new Error(`dilation (${this.dilation}) must be a positive integer.`);
    this.rng = new Rng(opts.seed ?? 0);
    const w = opts.width;
    const limit = Math.sqrt(6 / (this.kernel * w * 2)); // Glorot over fan-in + fan-out of the whole window
    this.filters = this.addParam("filters", tf.randomUniform([this.kernel, w, w], -limit, limit, "float32", this.rng.seed()));
    this.bias = this.addParam("bias", tf.zeros([w]));
  }

  /** mask: [b, t]. Padding is zeroed before the convolution, so it looks exactly like the conv's own zero padding. */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D {
    checkShapes("ConvBlock", { x: [x, ["batch", "time", this.opts.width]], mask: [mask, ["batch", "time"]] }, "mask holds 1 per real token, 0 per pad.");
    return tf.tidy(() => {
      const m = mask.expandDims(2);
      const h = conv1dSame(tf.mul(x, m) as tf.Tensor3D, this.filters as tf.Tensor3D, this.dilation);
      let y = activate(tf.add(h, this.bias), this.opts.activation ?? "relu");
      y = dropout(y, this.opts.dropout ?? 0, training, this.rng);
      if (this.opts.residual ?? true) y = tf.add(x, y);
      return tf.mul(y, m) as tf.Tensor3D;
    });
  }
}
