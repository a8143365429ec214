// The transformer block (Vaswani et al. 2017): self-attention, optional cross-attention, an MLP, each with its
// residual connection and layer norm. The stacks built from it are in ./transformer.ts.
//
// Block (post-LN):                  h = LN(x + Attention(x));  y = LN(h + MLP(h))
//        pre-LN (Xiong et al. 2020): h = x + Attention(LN(x));  y = h + MLP(LN(h))
// Attention alone is a weighted average of linear maps of the values — "a glorified linear network". The MLP
// (up by mlpRatio, a non-linearity, down) adds the non-linearity; residuals carry the input forward; layer
// norm keeps deep stacks trainable. `mlp: false`, `residual: false` and `norm: "none"` exist for the
// lecture's ablations only. With `past` / `returnKeyValues` a block runs incrementally (a decoder generating
// one token at a time over a key/value cache) and gives the same numbers as on the whole sequence.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Activation, ACTIVATIONS, LayerNorm, Linear, activate, dropout } from "./layers";
import { KeyValues, MultiHeadAttention } from "./attention";
import { Rng } from "../random";

export type NormPlacement = "post" | "pre" | "none";
export const NORM_PLACEMENTS: readonly NormPlacement[] = ["post", "pre", "none"];

export interface TransformerBlockOptions {
  width: number;
  heads: number;
  /** MLP hidden width = round(width * mlpRatio) (default 4: 2 is too small, 8 too big, says the folklore). */
  mlpRatio?: number;
  /** MLP non-linearity (default "gelu"). */
  activation?: Activation;
  /** Dropout on each sub-layer's output before the residual add (default 0.1). */
  dropout?: number;
  /** Dropout on attention weights (default = dropout). */
  attentionDropout?: number;
  /** Where layer norm goes (default "post", as Vaswani et al. and BERT; "none" is for ablations). */
  norm?: NormPlacement;
  /** Add a cross-attention sub-layer (queries from x, keys/values from `context`) — the seq2seq decoder. */
  crossAttention?: boolean;
  /** Residual connections (default true; false only for the lecture's ablation). */
  residual?: boolean;
  /** The MLP sub-layer (default true; false gives the attention-only "glorified linear network"). */
  mlp?: boolean;
  seed?: number;
}

export interface BlockApplyOptions {
  /** Additive self-attention mask broadcastable to [batch, heads, t, t]. */
  mask?: tf.Tensor;
  /** Cross-attention only: the sequence attended to, [batch, s, width]. */
  context?: tf.Tensor;
  /** Cross-attention only: additive mask broadcastable to [batch, heads, t, s]. */
  contextMask?: tf.Tensor;
  training?: boolean;
  /** Return attention weights: self [batch, heads, t, t], cross [batch, heads, t, s]. */
  returnWeights?: boolean;
  /** Incremental decoding: self-attention keys/values of the positions before x (mask then covers tPast + t keys). */
  past?: KeyValues;
  /** Cross-attention only: the context's keys/values computed once (crossAttention.keyValuesOf), instead of context. */
  contextKeyValues?: KeyValues;
  /** Return the self-attention keys/values (past and x's): the next step's cache. */
  returnKeyValues?: boolean;
}

export type BlockResult = {
  /** [batch, t, width] */
  output: tf.Tensor3D;
  attention?: tf.Tensor4D;
  crossAttention?: tf.Tensor4D;
  /** [batch, heads, tPast + t, dh] each, with returnKeyValues. */
  keyValues?: KeyValues;
};

export function checkRate(what: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${what} (${rate}) must be in [0, 1), e.g. 0.1.`);
}

export function checkChoice<T extends string>(what: string, value: T, choices: readonly T[]): void {
  if (!choices.includes(value)) throw new Error(`${what} "${value}" is unknown: use one of ${choices.join(", ")}.`);
}

export class TransformerBlock extends Module {
  readonly width: number;
  readonly norm: NormPlacement;
  readonly residual: boolean;
  readonly activation: Activation;
  readonly dropoutRate: number;
  readonly attention: MultiHeadAttention;
  readonly crossAttention?: MultiHeadAttention;
  readonly mlpUp?: Linear;
  readonly mlpDown?: Linear;
  // One norm per sub-layer; absent when norm === "none".
  readonly attentionNorm?: LayerNorm;
  readonly crossNorm?: LayerNorm;
  readonly mlpNorm?: LayerNorm;
  private readonly rng: Rng;

  constructor(opts: TransformerBlockOptions) {
    super();
    const width = opts.width;
    const ratio = opts.mlpRatio ?? 4;
    this.width = width;
    this.norm = opts.norm ?? "post";
    this.residual = opts.residual ?? true;
    this.activation = opts.activation ?? "gelu";
    this.dropoutRate = opts.dropout ?? 0.1;
    checkChoice("TransformerBlock norm", this.norm, NORM_PLACEMENTS);
    checkChoice("TransformerBlock activation", this.activation, ACTIVATIONS);
    checkRate("TransformerBlock dropout", this.dropoutRate);
    const hidden = Math.round(width * ratio);
    if (!(ratio > 0) || hidden < 1) throw new Error(`TransformerBlock mlpRatio (${ratio}) must be > 0, e.g. 4 (MLP width ${4 * width}).`);
    const rng = new Rng(opts.seed ?? 0);
    const attentionDropout = opts.attentionDropout ?? this.dropoutRate;
    const makeNorm = (name: string) => (this.norm === "none" ? undefined : this.addChild(name, new LayerNorm(width)));
    this.attention = this.addChild(
      "attention",
      new MultiHeadAttention({ width, heads: opts.heads, dropout: attentionDropout, seed: rng.seed() }),
    );
    this.attentionNorm = makeNorm("attentionNorm");
    if (opts.crossAttention) {
      this.crossAttention = this.addChild(
        "crossAttention",
        new MultiHeadAttention({ width, heads: opts.heads, dropout: attentionDropout, seed: rng.seed() }),
      );
      this.crossNorm = makeNorm("crossNorm");
    }
    if (opts.mlp ?? true) {
      this.mlpUp = this.addChild("mlpUp", new Linear({ inDim: width, outDim: hidden, seed: rng.seed() }));
      this.mlpDown = this.addChild("mlpDown", new Linear({ inDim: hidden, outDim: width, seed: rng.seed() }));
      this.mlpNorm = makeNorm("mlpNorm");
    }
    this.rng = rng.fork();
  }

  /** One sub-layer with its residual and norm: post-LN  LN(x + f(x)), pre-LN  x + f(LN(x)). */
  private sublayer(x: tf.Tensor, norm: LayerNorm | undefined, f: (h: tf.Tensor) => tf.Tensor, training: boolean): tf.Tensor {
    const inner = this.norm === "pre" && norm ? norm.apply(x) : x;
    const out = dropout(f(inner), this.dropoutRate, training, this.rng);
    const summed = this.residual ? tf.add(x, out) : out;
    return this.norm === "post" && norm ? norm.apply(summed) : summed;
  }

  /** x: [batch, t, width] -> {output [batch, t, width], attention? [b, heads, t, t], crossAttention? [b, heads, t, s]} */
  apply(x: tf.Tensor, opts: BlockApplyOptions = {}): BlockResult {
    if ((opts.context || opts.contextKeyValues) && !this.crossAttention) {
      throw new Error("TransformerBlock got a context but has no cross-attention: build it with crossAttention: true.");
    }
    if (this.crossAttention && !opts.context && !opts.contextKeyValues) {
      throw new Error("TransformerBlock has cross-attention and needs a context [batch, s, width] (e.g. the encoder output).");
    }
    const training = opts.training ?? false;
    const wantWeights = opts.returnWeights ?? false;
    return tf.tidy(() => {
      const weights: { attention?: tf.Tensor4D; crossAttention?: tf.Tensor4D; keyValues?: KeyValues } = {};
      let h = this.sublayer(x, this.attentionNorm, (a) => {
        const r = this.attention.apply(a, { mask: opts.mask, training, returnWeights: wantWeights, past: opts.past, returnKeyValues: opts.returnKeyValues });
        if (r.weights) weights.attention = r.weights;
        if (r.keyValues) weights.keyValues = r.keyValues;
        return r.output;
      }, training);
      if (this.crossAttention) {
        const cross = this.crossAttention;
        h = this.sublayer(h, this.crossNorm, (a) => {
          const r = cross.apply(a, { context: opts.context, keyValues: opts.contextKeyValues, mask: opts.contextMask, training, returnWeights: wantWeights });
          if (r.weights) weights.crossAttention = r.weights;
          return r.output;
        }, training);
      }
      if (this.mlpUp && this.mlpDown) {
        const up = this.mlpUp;
        const down = this.mlpDown;
        h = this.sublayer(h, this.mlpNorm, (a) => down.apply(activate(up.apply(a), this.activation)), training);
      }
      const out: BlockResult = { output: h as tf.Tensor3D, ...weights };
      return out;
    });
  }
}

