// Lecture 2's baseline: embed tokens, stack residual 1-D convolutions, max-pool over time, classify.
import * as tf from "@tensorflow/tfjs";
import { Embedding, Linear, dropout } from "../nn/layers";
import { ConvBlock } from "../nn/conv";
import { Rng } from "../random";
import { SentenceClassifier, ClassifierHeadOptions } from "./classifier";
import { Intervention, checkIntervention } from "./intervention";

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

  /** The convolution blocks (the layers an Intervention or an early exit counts). */
  get numLayers(): number {
    return this.blocks.length;
  }

  /**
   * Every layer's token states: ids [b, t], mask [b, t] -> [layer 0 = the projected embeddings [b, t, width],
   * layer 1 = conv block 1's output, ..., layer L = the last block's output]. With an `intervention`, layer
   * `intervention.layer`'s states are replaced by `intervention.replace(h)` before the layers above read them
   * (lib/models/intervention.ts: interchange interventions). The caller owns (disposes) the list.
   */
  layerStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean, intervention?: Intervention): tf.Tensor3D[] {
    checkIntervention(intervention, this.blocks.length);
    return tf.tidy(() => {
      const e = dropout(this.embedding.apply(ids), this.cfg.dropout, training, this.rng);
      let h = this.project.apply(e) as tf.Tensor3D;
      if (intervention?.layer === 0) h = intervention.replace(h);
      const states = [h];
      this.blocks.forEach((block, l) => {
        h = block.apply(h, mask, training);
        if (intervention?.layer === l + 1) h = intervention.replace(h);
        states.push(h);
      });
      return states;
    });
  }

  /** The last convolution's output at every token: [b, t, width]. */
  tokenStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D {
    return tf.tidy(() => this.layerStates(ids, mask, training).pop()!);
  }

  /** Max over real positions only: states [b, t, width], mask [b, t] -> [b, width]. Padding is pushed far below any real activation first. */
  pool(states: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.max(tf.add(states, tf.mul(tf.sub(1, mask.expandDims(2)), -1e9)), 1) as tf.Tensor2D);
  }

  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => this.pool(this.tokenStates(ids, mask, training), mask));
  }

  /**
   * For analysis (lib/analysis): the states every position has, without dropout. ids: [b, t] int32, mask: [b, t]
   * -> [embeddings [b, t, embedDim], conv block 1 [b, t, width], ..., conv block L] (padding positions are 0).
   */
  hiddenStates(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D[] {
    return tf.tidy(() => [this.embedding.apply(ids) as tf.Tensor3D, ...this.layerStates(ids, mask, false).slice(1)]);
  }
}
