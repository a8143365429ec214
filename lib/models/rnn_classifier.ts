// Lecture 1's baseline: embed tokens, read them with a (bi)LSTM, classify the final states.
import * as tf from "@tensorflow/tfjs";
import { Embedding, dropout } from "../nn/layers";
import { RnnEncoder, RnnCell } from "../nn/rnn";
import { Rng } from "../random";
import { SentenceClassifier, ClassifierHeadOptions } from "./classifier";

export interface RnnClassifierOptions extends ClassifierHeadOptions {
  vocabSize: number;
  embedDim?: number;
  hidden?: number;
  cell?: RnnCell;
  bidirectional?: boolean;
  dropout?: number;
}

export class RnnClassifier extends SentenceClassifier {
  private readonly embedding: Embedding;
  private readonly rnn: RnnEncoder;
  private readonly rng: Rng;
  private readonly cfg: Required<Omit<RnnClassifierOptions, "seed">> & { seed: number };

  constructor(opts: RnnClassifierOptions) {
    super(opts);
    this.cfg = {
      vocabSize: opts.vocabSize,
      embedDim: opts.embedDim ?? 64,
      hidden: opts.hidden ?? 128,
      cell: opts.cell ?? "lstm",
      bidirectional: opts.bidirectional ?? true,
      dropout: opts.dropout ?? 0.2,
      numClasses: this.numClasses,
      maxLen: this.maxLen,
      seed: opts.seed ?? 0,
    };
    const rng = new Rng(this.cfg.seed);
    this.rng = rng.fork();
    // A wider init than BERT's 0.02: these embeddings are trained from scratch with a small model.
    this.embedding = this.addChild("embedding", new Embedding({ vocabSize: this.cfg.vocabSize, dim: this.cfg.embedDim, initStd: 0.1, seed: rng.seed() }));
    this.rnn = this.addChild("rnn", new RnnEncoder({ inDim: this.cfg.embedDim, hidden: this.cfg.hidden, cell: this.cfg.cell, bidirectional: this.cfg.bidirectional, seed: rng.seed() }));
    this.addHead(this.rnn.width, rng.seed());
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  get stateWidth(): number {
    return this.rnn.width;
  }

  /** Both directions' states at every token: [b, t, 2·hidden] (bidirectional). */
  tokenStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D {
    return tf.tidy(() => this.rnn.sequence(dropout(this.embedding.apply(ids), this.cfg.dropout, training, this.rng) as tf.Tensor3D, mask));
  }

  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const x = dropout(this.embedding.apply(ids), this.cfg.dropout, training, this.rng) as tf.Tensor3D;
      return dropout(this.rnn.final(x, mask), this.cfg.dropout, training, this.rng) as tf.Tensor2D;
    });
  }

  /**
   * For analysis (lib/analysis): the states every position has, without dropout. ids: [b, t] int32, mask: [b, t]
   * -> [embeddings [b, t, embedDim], RNN layer 1 [b, t, width], ...] (both directions side by side when
   * bidirectional; zero at padding).
   */
  hiddenStates(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D[] {
    return tf.tidy(() => {
      const x = this.embedding.apply(ids) as tf.Tensor3D;
      return [x, ...this.rnn.encode(x, mask, { layerOutputs: true }).layerOutputs!];
    });
  }
}
