// Recurrent encoders: the lecture's first baseline. Each step waits for the previous one — that is the point
// the course makes about RNNs (strong in theory, sequential in practice), and what 01_rnn_baselines measures.
//
// We use tfjs's LSTM/GRU layers (the cells are standard and tfjs runs them well) and add what the course needs:
// seeded initialisation, bidirectionality, and masking so that padding never changes a result.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Rng } from "../random";

export type RnnCell = "lstm" | "gru";

export interface RnnEncoderOptions {
  inDim: number;
  hidden: number;
  cell?: RnnCell;
  bidirectional?: boolean;
  seed?: number;
}

export class RnnEncoder extends Module {
  readonly hidden: number;
  readonly bidirectional: boolean;
  private readonly layer: tf.layers.Layer;

  constructor(opts: RnnEncoderOptions) {
    super();
    const cell = opts.cell ?? "lstm";
    if (cell !== "lstm" && cell !== "gru") throw new Error(`cell "${cell}" is unknown: use "lstm" or "gru".`);
    if (!Number.isInteger(opts.hidden) || opts.hidden <= 0) throw new Error(`hidden (${opts.hidden}) must be a positive integer.`);
    this.hidden = opts.hidden;
    this.bidirectional = opts.bidirectional ?? true;
    const rng = new Rng(opts.seed ?? 0);
    const make = () => {
      const cfg = {
        units: opts.hidden,
        returnSequences: true,
        kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
        // Glorot rather than orthogonal: same quality at this size, and no slow QR at construction.
        recurrentInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
        inputShape: [null, opts.inDim] as [null, number],
      };
      return cell === "lstm" ? tf.layers.lstm(cfg) : tf.layers.gru(cfg);
    };
    const rnn = make();
    this.layer = this.addLayer("rnn", this.bidirectional ? tf.layers.bidirectional({ layer: rnn as tf.RNN, mergeMode: "concat" }) : rnn);
  }

  /** Output width: hidden, or 2·hidden when bidirectional. */
  get width(): number {
    return this.bidirectional ? 2 * this.hidden : this.hidden;
  }

  /**
   * x: [b, t, inDim], mask: [b, t] (1 real, 0 pad; padding on the right) -> states [b, t, width]
   * Masked steps carry the previous state forward, so each direction's state at a real token ignores padding.
   */
  sequence(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = mask.shape;
      // tfjs 4.22's RNN gradient fails on one-step sequences (the unstack of a single slice), so a length-1
      // batch gets one extra masked step; masking makes it invisible to both directions.
      const pad = t === 1 ? 1 : 0;
      const xs = pad ? tf.pad(x, [[0, 0], [0, pad], [0, 0]]) : x;
      const ms = pad ? tf.pad(mask, [[0, 0], [0, pad]]) : mask;
      const out = this.layer.apply(xs, { mask: tf.cast(ms, "bool") }) as tf.Tensor3D;
      return pad ? (out.slice([0, 0, 0], [b, t, this.width]) as tf.Tensor3D) : out;
    });
  }

  /**
   * The sentence vector: forward state after the last real token, concatenated with the backward state after
   * reading back to the first token. x: [b, t, inDim], mask: [b, t] -> [b, width]
   */
  final(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const states = this.sequence(x, mask);
      const [b, t] = mask.shape;
      // The last real token is where the mask is 1 and the next position's is 0 (right padding).
      const next = tf.concat([mask.slice([0, 1], [b, t - 1]), tf.zeros([b, 1])], 1);
      const last = tf.mul(mask, tf.sub(1, next)).reshape([b, t, 1]);
      const fwdAll = this.bidirectional ? states.slice([0, 0, 0], [b, t, this.hidden]) : states;
      const fwd = tf.sum(tf.mul(fwdAll, last), 1) as tf.Tensor2D;
      if (!this.bidirectional) return fwd;
      // The backward pass reads right to left; its complete summary sits at position 0.
      const bwd = states.slice([0, 0, this.hidden], [b, 1, this.hidden]).reshape([b, this.hidden]) as tf.Tensor2D;
      return tf.concat([fwd, bwd], 1);
    });
  }
}
