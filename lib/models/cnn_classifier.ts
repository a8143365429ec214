// Lecture 2's baseline: embed tokens, stack residual 1-D convolutions, max-pool over time, classify.
import * as tf from "@tensorflow/tfjs";
import { Embedding, Linear, dropout } from "../nn/layers";
import { ConvBlock } from "../nn/conv";
import { Rng } from "../random";
import { SentenceClassifier, ClassifierHeadOptions } from "./classifier";

export interface CnnClassifierOptions extends ClassifierHeadOptions {
  vocabSize: number;
  embedDim?: number;
  width?: number;
  kernel?: number;
  layers?: number;
  /** Dilation of layer l is dilationGrowth^l (1 = plain stack; 2 doubles the reach per layer). */
  dilationGrowth?: number;
  residual?: boolean;
  dropout?: number;
}

export class CnnClassifier extends SentenceClassifier {
  private readonly embedding: Embedding;
  private readonly project: Linear;
  private readonly blocks: ConvBlock[] = [];
  private readonly rng: Rng;
  private readonly cfg: Required<Omit<CnnClassifierOptions, "seed">> & { seed: number };

  constructor(opts: CnnClassifierOptions) {
    super(opts);
    this.cfg = {
      vocabSize: opts.vocabSize,
      embedDim: opts.embedDim ?? 64,
      width: opts.width ?? 128,
      kernel: opts.kernel ?? 3,
      layers: opts.layers ?? 3,
      dilationGrowth: opts.dilationGrowth ?? 1,
      residual: opts.residual ?? true,
      dropout: opts.dropout ?? 0.2,
      numClasses: this.numClasses,
      maxLen: this.maxLen,
      seed: opts.seed ?? 0,
    };
    const c = this.cfg;
    const rng = new Rng(c.seed);
    this.rng = rng.fork();
    this.embedding = this.addChild("embedding", new Embedding({ vocabSize: c.vocabSize, dim: c.embedDim, initStd: 0.1, seed: rng.seed() }));
    this.project = this.addChild("project", new Linear({ inDim: c.embedDim, outDim: c.width, seed: rng.seed() }));
    for (let l = 0; l < c.layers; l++) {
      const block = new ConvBlock({ width: c.width, kernel: c.kernel, dilation: c.dilationGrowth ** l, residual: c.residual, dropout: c.dropout, seed: rng.seed() });
      this.blocks.push(this.addChild(`conv${l}`, block));
    }
    this.addHead(c.width, rng.seed());
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  get stateWidth(): number {
    return this.cfg.width;
  }

  /** The last convolution's output at every token: [b, t, width]. */
  tokenStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D {
    return tf.tidy(() => {
      const e = dropout(this.embedding.apply(ids), this.cfg.dropout, training, this.rng);
      let h = this.project.apply(e) as tf.Tensor3D;
      for (const block of this.blocks) h = block.apply(h, mask, training);
      return h;
    });
  }

  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.tokenStates(ids, mask, training);
      // Max over real positions only: padding is pushed far below any real activation first.
      const masked = tf.add(h, tf.mul(tf.sub(1, mask.expandDims(2)), -1e9));
      return tf.max(masked, 1) as tf.Tensor2D;
    });
  }

  /**
   * For analysis (lib/analysis): the states every position has, without dropout. ids: [b, t] int32, mask: [b, t]
   * -> [embeddings [b, t, embedDim], conv block 1 [b, t, width], ..., conv block L] (padding positions are 0).
   */
  hiddenStates(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D[] {
    return tf.tidy(() => {
      const e = this.embedding.apply(ids) as tf.Tensor3D;
      const states = [e];
      let h = this.project.apply(e) as tf.Tensor3D;
      for (const block of this.blocks) states.push((h = block.apply(h, mask, false)));
      return states;
    });
  }
}
