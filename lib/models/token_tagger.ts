// A transformer that labels every token of a sequence of feature vectors: lecture 3's laboratory.
//
// features [batch, t, inputDim] -> Linear to width (+ positions) -> N TransformerBlocks -> Linear head per token.
// The same blocks as the TransformerEncoder, but fed with real-valued features instead of token ids, so toy
// tasks (lib/tasks/toy_tokens.ts) can state the answer exactly. Every switch of the block is exposed — mlp,
// mlpRatio, residual, norm — for the ablations of notebook 03: attention without an MLP is a weighted average
// of linear maps of the values ("a glorified linear network"), residuals and layer norm keep depth trainable.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Activation, LayerNorm, Linear } from "../nn/layers";
import { paddingMask } from "../nn/attention";
import { NormPlacement, TransformerBlock } from "../nn/transformer";
import { PositionKind, Positions, makePositions } from "../nn/positions";
import { makeBatches } from "../data/batching";
import { maskedSequenceLoss } from "../train/losses";
import { Trainable, disposeBatch } from "../train/model";
import { Rng } from "../random";
import { checkShapes } from "../nn/check";

/** One sequence: a feature vector and a class id per token. */
export interface TokenExample {
  /** [time][inputDim] */
  features: number[][];
  /** [time] class ids */
  labels: number[];
}

export type TaggerBatch = {
  /** [batch, t, inputDim] float32, zeros at padding */
  features: tf.Tensor3D;
  /** [batch, t] float32: 1 = real token */
  mask: tf.Tensor2D;
  /** [batch, t] int32 (0 at padding, which the mask removes from the loss) */
  labels: tf.Tensor2D;
};

export interface TokenTaggerOptions {
  inputDim: number;
  numClasses?: number;
  /** Model width (default 32). */
  width?: number;
  /** Attention heads (default 2); must divide width. */
  heads?: number;
  /** Number of blocks (default 2); 0 gives a per-token linear model (the floor). */
  layers?: number;
  /** The MLP sub-layer (default true); false = attention-only blocks. */
  mlp?: boolean;
  /** MLP hidden width = width · mlpRatio (default 4). */
  mlpRatio?: number;
  /** MLP non-linearity (default "relu", as the lecture draws it). */
  activation?: Activation;
  residual?: boolean;
  /** "post" (default), "pre" (adds a final LayerNorm) or "none". */
  norm?: NormPlacement;
  /** "learned" (default), "sinusoidal", or "none" (the blocks then see a set, not a sequence). */
  positions?: PositionKind | "none";
  /** Longest sequence (default 64). */
  maxLen?: number;
  /** Dropout inside the blocks (default 0: the toy tasks are noise-free). */
  dropout?: number;
  seed?: number;
}

export interface TaggerForward {
  /** [batch, t, numClasses] */
  logits: tf.Tensor3D;
  /** layers × [batch, heads, t, t], with returnAttention. */
  attentions?: tf.Tensor4D[];
}

export class TokenTagger extends Module implements Trainable<TokenExample, TaggerBatch> {
  readonly inputDim: number;
  readonly numClasses: number;
  readonly maxLen: number;
  readonly input: Linear;
  readonly positions?: Positions;
  readonly blocks: TransformerBlock[] = [];
  readonly finalNorm?: LayerNorm;
  readonly head: Linear;
  private readonly cfg: Record<string, unknown>;

  constructor(opts: TokenTaggerOptions) {
    super();
    const width = opts.width ?? 32;
    const layers = opts.layers ?? 2;
    const norm = opts.norm ?? "post";
    const positions = opts.positions ?? "learned";
    this.inputDim = opts.inputDim;
    this.numClasses = opts.numClasses ?? 2;
    this.maxLen = opts.maxLen ?? 64;
    if (!Number.isInteger(opts.inputDim) || opts.inputDim <= 0) throw new Error(`TokenTagger inputDim (${opts.inputDim}) must be a positive integer.`);
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2) throw new Error(`TokenTagger numClasses (${this.numClasses}) must be an integer >= 2.`);
    if (!Number.isInteger(layers) || layers < 0) throw new Error(`TokenTagger layers (${layers}) must be an integer >= 0 (0 = linear per-token model).`);
    if (positions !== "none" && positions !== "learned" && positions !== "sinusoidal") {
      throw new Error(`TokenTagger positions "${positions}" is unknown: use "learned", "sinusoidal" or "none".`);
    }
    const rng = new Rng(opts.seed ?? 0);
    this.input = this.addChild("input", new Linear({ inDim: opts.inputDim, outDim: width, seed: rng.seed() }));
    if (positions !== "none") {
      this.positions = this.addChild("positions", makePositions(positions, { maxLen: this.maxLen, width, seed: rng.seed() }));
    }
    for (let i = 0; i < layers; i++) {
      // TransformerBlock validates heads, mlpRatio, norm, activation and dropout with messages naming the fix.
      this.blocks.push(this.addChild(`layer${i}`, new TransformerBlock({
        width, heads: opts.heads ?? 2, mlp: opts.mlp, mlpRatio: opts.mlpRatio, activation: opts.activation ?? "relu",
        residual: opts.residual, norm, dropout: opts.dropout ?? 0, seed: rng.seed(),
      })));
    }
    // Pre-LN leaves the residual stream un-normalised; one final norm before the head (as GPT-2).
    if (norm === "pre" && layers > 0) this.finalNorm = this.addChild("finalNorm", new LayerNorm(width));
    this.head = this.addChild("head", new Linear({ inDim: width, outDim: this.numClasses, seed: rng.seed() }));
    this.cfg = {
      inputDim: this.inputDim, numClasses: this.numClasses, width, heads: opts.heads ?? 2, layers, mlp: opts.mlp ?? true,
      mlpRatio: opts.mlpRatio ?? 4, activation: opts.activation ?? "relu", residual: opts.residual ?? true, norm,
      positions, maxLen: this.maxLen, dropout: opts.dropout ?? 0, seed: opts.seed ?? 0,
    };
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  collate(examples: TokenExample[]): TaggerBatch {
    if (examples.length === 0) throw new Error("TokenTagger.collate got an empty batch.");
    const t = Math.max(...examples.map((e) => e.features.length));
    if (t > this.maxLen) throw new Error(`a sequence has ${t} tokens but maxLen is ${this.maxLen}: build the TokenTagger with maxLen >= ${t}.`);
    const b = examples.length;
    const d = this.inputDim;
    const feats = new Float32Array(b * t * d);
    const mask = new Float32Array(b * t);
    const labels = new Int32Array(b * t);
    examples.forEach((e, i) => {
      if (e.features.length === 0 || e.features.length !== e.labels.length) {
        throw new Error(`example ${i} has ${e.features.length} feature vectors and ${e.labels.length} labels: need one label per token, at least one token.`);
      }
      e.features.forEach((f, j) => {
        if (f.length !== d) throw new Error(`example ${i}, token ${j} has ${f.length} features; the TokenTagger expects inputDim ${d}.`);
        feats.set(f, (i * t + j) * d);
        const y = e.labels[j];
        if (!(Number.isInteger(y) && y >= 0 && y < this.numClasses)) throw new Error(`example ${i}, token ${j}: label ${y} is not a class id in 0..${this.numClasses - 1}.`);
        labels[i * t + j] = y;
        mask[i * t + j] = 1;
      });
    });
    return {
      features: tf.tensor3d(feats, [b, t, d]),
      mask: tf.tensor2d(mask, [b, t]),
      labels: tf.tensor2d(labels, [b, t], "int32"),
    };
  }

  /** features [batch, t, inputDim], mask [batch, t] -> logits [batch, t, numClasses] (+ attention weights). */
  forward(batch: Pick<TaggerBatch, "features" | "mask">, opts: { training?: boolean; returnAttention?: boolean } = {}): TaggerForward {
    const training = opts.training ?? false;
    checkShapes("TokenTagger", { features: [batch.features, ["batch", "t", this.inputDim]], mask: [batch.mask, ["batch", "t"]] },
      "Build batches with collate(examples).");
    return tf.tidy(() => {
      const t = batch.features.shape[1];
      let h: tf.Tensor = this.input.apply(batch.features);
      if (this.positions) h = tf.add(h, this.positions.apply(t));
      const mask = paddingMask(batch.mask);
      const attentions: tf.Tensor4D[] = [];
      for (const block of this.blocks) {
        const r = block.apply(h, { mask, training, returnWeights: opts.returnAttention });
        h = r.output;
        if (r.attention) attentions.push(r.attention);
      }
      if (this.finalNorm) h = this.finalNorm.apply(h);
      const logits = this.head.apply(h) as tf.Tensor3D;
      return opts.returnAttention ? { logits, attentions } : { logits };
    });
  }

  logits(batch: TaggerBatch, training: boolean): tf.Tensor3D {
    return this.forward(batch, { training }).logits;
  }

  /** Mean cross-entropy over real tokens (padding has weight 0). */
  loss(batch: TaggerBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => maskedSequenceLoss(this.logits(batch, training), batch.labels, batch.mask));
  }

  /** The predicted class of every real token, per sequence. */
  predictTokens(examples: TokenExample[], batchSize = 128): number[][] {
    const out: number[][] = [];
    for (const group of makeBatches(examples, { batchSize, shuffle: false })) {
      const batch = this.collate(group);
      try {
        const pred = tf.tidy(() => tf.argMax(this.logits(batch, false), -1).arraySync() as number[][]);
        group.forEach((e, i) => out.push(pred[i].slice(0, e.labels.length)));
      } finally {
        disposeBatch(batch);
      }
    }
    return out;
  }

  /**
   * How much gradient reaches each part of the model on one batch: the norm of d loss / d parameters, grouped
   * by top-level part (input, positions, layer0 ... layerN-1, finalNorm, head). Without residuals, deep stacks
   * starve their first layers; this is how notebook 03 shows it.
   */
  gradientNorms(examples: TokenExample[]): { part: string; norm: number }[] {
    const batch = this.collate(examples);
    try {
      return tf.tidy(() => {
        const named = [...this.namedParameters()].filter(([, v]) => v.trainable);
        const { grads } = tf.variableGrads(() => this.loss(batch, false), named.map(([, v]) => v));
        const squares = new Map<string, tf.Scalar[]>();
        for (const [name, v] of named) {
          const g = grads[v.name];
          if (!g) continue; // a parameter the loss does not reach
          const part = name.split(".")[0];
          const list = squares.get(part) ?? [];
          list.push(tf.sum(tf.square(g)));
          squares.set(part, list);
        }
        return [...squares].map(([part, sq]) => ({ part, norm: Math.sqrt(tf.addN(sq).dataSync()[0]) }));
      });
    } finally {
      disposeBatch(batch);
    }
  }

  /** Fraction of real tokens labelled correctly. */
  tokenAccuracy(examples: TokenExample[]): number {
    const pred = this.predictTokens(examples);
    let right = 0;
    let all = 0;
    examples.forEach((e, i) => e.labels.forEach((y, j) => ((right += pred[i][j] === y ? 1 : 0), all++)));
    return all ? right / all : 0;
  }
}
