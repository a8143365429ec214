// The transformer block and the stacks built from it: an encoder (full attention) and a causal decoder
// (optionally cross-attending to an encoder's output).
//
// Block (Vaswani et al. 2017, post-LN):  h = LN(x + Attention(x));  y = LN(h + MLP(h))
//        pre-LN (Xiong et al. 2020):     h = x + Attention(LN(x));  y = h + MLP(LN(h))
// Attention alone is a weighted average of linear maps of the values — "a glorified linear network". The MLP
// (up by mlpRatio, a non-linearity, down) adds the non-linearity; residuals carry the input forward; layer
// norm keeps deep stacks trainable. `mlp: false`, `residual: false` and `norm: "none"` exist for the
// lecture's ablations only.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Activation, ACTIVATIONS, Embedding, LayerNorm, Linear, activate, dropout } from "./layers";
import { MultiHeadAttention, causalMask, combineMasks, paddingMask } from "./attention";
import { PositionKind, Positions, makePositions } from "./positions";
import { RELATIVE_BIAS_KINDS, RelativeBias, RelativeBiasKind, makeRelativeBias } from "./relative_positions";
import { Rng } from "../random";
import { checkShapes } from "./check";

export type NormPlacement = "post" | "pre" | "none";
/** Absolute positions added to the tokens ("learned", "sinusoidal") or a relative bias on the scores ("alibi", "t5"). */
export type PositionScheme = PositionKind | RelativeBiasKind;
export const isRelativeScheme = (s: PositionScheme): s is RelativeBiasKind => (RELATIVE_BIAS_KINDS as readonly string[]).includes(s);
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
}

export type BlockResult = {
  /** [batch, t, width] */
  output: tf.Tensor3D;
  attention?: tf.Tensor4D;
  crossAttention?: tf.Tensor4D;
};

function checkRate(what: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${what} (${rate}) must be in [0, 1), e.g. 0.1.`);
}

function checkChoice<T extends string>(what: string, value: T, choices: readonly T[]): void {
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
    if (opts.context && !this.crossAttention) {
      throw new Error("TransformerBlock got a context but has no cross-attention: build it with crossAttention: true.");
    }
    if (this.crossAttention && !opts.context) {
      throw new Error("TransformerBlock has cross-attention and needs a context [batch, s, width] (e.g. the encoder output).");
    }
    const training = opts.training ?? false;
    const wantWeights = opts.returnWeights ?? false;
    return tf.tidy(() => {
      const weights: { attention?: tf.Tensor4D; crossAttention?: tf.Tensor4D } = {};
      let h = this.sublayer(x, this.attentionNorm, (a) => {
        const r = this.attention.apply(a, { mask: opts.mask, training, returnWeights: wantWeights });
        if (r.weights) weights.attention = r.weights;
        return r.output;
      }, training);
      if (this.crossAttention) {
        const cross = this.crossAttention;
        h = this.sublayer(h, this.crossNorm, (a) => {
          const r = cross.apply(a, { context: opts.context, mask: opts.contextMask, training, returnWeights: wantWeights });
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

// ---------------------------------------------------------------------------------------------------------
// Stacks.

export interface TransformerStackOptions {
  /** Needed unless `embedding` is given. */
  vocabSize?: number;
  width: number;
  heads: number;
  layers: number;
  mlpRatio?: number;
  activation?: Activation;
  /** Longest sequence accepted (default 512). */
  maxLen?: number;
  /**
   * "learned" (default) or "sinusoidal": a position vector added to each token. "alibi" or "t5": no position
   * vectors; a bias by distance added to every layer's attention scores (lib/nn/relative_positions.ts),
   * combined with the padding / causal / prefix masks. T5's is causal (past-only buckets) in a decoder.
   */
  positions?: PositionScheme;
  /** Dropout on embeddings and sub-layer outputs (default 0.1). */
  dropout?: number;
  attentionDropout?: number;
  /** "post" (default, BERT), "pre" (GPT-2; adds a final LayerNorm) or "none" (ablation). */
  norm?: NormPlacement;
  residual?: boolean;
  mlp?: boolean;
  /**
   * An existing token Embedding to use (and share: ELECTRA's generator and discriminator share one). Its dim
   * may differ from width; then the summed embeddings are projected to width by a Linear ("embedProjection").
   */
  embedding?: Embedding;
  /** Dim of a newly created token Embedding (default width). */
  embeddingDim?: number;
  /** An existing position module to share; its width must equal the embedding dim. */
  positionEmbedding?: Positions;
  /** LayerNorm over the summed embeddings (default true for post-LN, as BERT; false otherwise). */
  embeddingNorm?: boolean;
  seed?: number;
}

export interface StackApplyOptions {
  /** [batch, t]: 1 = real token, 0 = padding (float or int). Padding keys are masked out. */
  mask01?: tf.Tensor;
  /** Extra additive mask broadcastable to [batch, heads, t, t] (e.g. causalMask or prefixLmMask). */
  attentionMask?: tf.Tensor;
  training?: boolean;
  /** Return each layer's attention weights, [batch, heads, t, t] per layer. */
  returnAttention?: boolean;
  /** Return hidden states: index 0 = embeddings, index i = output of block i (before any final norm). */
  returnHiddenStates?: boolean;
}

export type StackResult = {
  /** [batch, t, width] — after the final LayerNorm for pre-LN. */
  hidden: tf.Tensor3D;
  /** layers entries of [batch, heads, t, t]. */
  attentions?: tf.Tensor4D[];
  /** layers + 1 entries of [batch, t, width]. */
  hiddenStates?: tf.Tensor3D[];
};

/** Shared by encoder and decoder: embeddings, N blocks, the final norm (pre-LN only). */
abstract class TransformerStack extends Module {
  readonly width: number;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly norm: NormPlacement;
  readonly dropoutRate: number;
  readonly embedding: Embedding;
  /** How word order enters: "learned" / "sinusoidal" (`positions`) or "alibi" / "t5" (`relativeBias`). */
  readonly positionScheme: PositionScheme;
  /** Absent with a relative scheme ("alibi", "t5"). */
  readonly positions?: Positions;
  /** Present with a relative scheme: one bias [1, heads, t, t] shared by all layers (as T5). */
  readonly relativeBias?: RelativeBias;
  readonly embeddingNorm?: LayerNorm;
  readonly embedProjection?: Linear;
  /** Factor on the token embeddings before positions are added: √dim with sinusoidal positions, else 1. */
  readonly embedScale: number;
  readonly blocks: TransformerBlock[] = [];
  readonly finalNorm?: LayerNorm;
  protected readonly rng: Rng;

  constructor(name: string, opts: TransformerStackOptions, crossAttention: boolean, causal = false) {
    super();
    const { width, layers } = opts;
    if (!Number.isInteger(layers) || layers < 0) throw new Error(`${name} layers (${layers}) must be a non-negative integer.`);
    if (!Number.isInteger(width) || width <= 0) throw new Error(`${name} width (${width}) must be a positive integer.`);
    this.width = width;
    this.maxLen = opts.positionEmbedding?.maxLen ?? opts.maxLen ?? 512;
    this.norm = opts.norm ?? "post";
    this.dropoutRate = opts.dropout ?? 0.1;
    checkChoice(`${name} norm`, this.norm, NORM_PLACEMENTS);
    checkRate(`${name} dropout`, this.dropoutRate);
    const rng = new Rng(opts.seed ?? 0);
    const sinusoidal = (opts.positionEmbedding?.kind ?? opts.positions) === "sinusoidal";
    if (opts.embedding) {
      if (opts.vocabSize !== undefined && opts.vocabSize !== opts.embedding.vocabSize) {
        throw new Error(`${name} vocabSize (${opts.vocabSize}) differs from the given embedding's (${opts.embedding.vocabSize}): omit vocabSize.`);
      }
      this.embedding = this.addChild("embedding", opts.embedding);
    } else {
      if (opts.vocabSize === undefined) throw new Error(`${name} needs vocabSize (or an existing embedding).`);
      const dim = opts.embeddingDim ?? width;
      // With sinusoidal positions, Vaswani et al.'s init: std 1/√dim, times √dim below = unit scale per coordinate.
      const initStd = sinusoidal ? 1 / Math.sqrt(dim) : undefined;
      this.embedding = this.addChild("embedding", new Embedding({ vocabSize: opts.vocabSize, dim, initStd, seed: rng.seed() }));
    }
    this.vocabSize = this.embedding.vocabSize;
    const embDim = this.embedding.dim;
    const scheme = (this.positionScheme = opts.positionEmbedding?.kind ?? opts.positions ?? "learned");
    if (isRelativeScheme(scheme)) {
      this.relativeBias = this.addChild("relativeBias", makeRelativeBias(scheme, { heads: opts.heads, bidirectional: !causal, seed: rng.seed() }));
    } else if (opts.positionEmbedding) {
      if (opts.positionEmbedding.width !== embDim) {
        throw new Error(`${name} positionEmbedding width (${opts.positionEmbedding.width}) must equal the embedding dim (${embDim}).`);
      }
      this.positions = this.addChild("positions", opts.positionEmbedding);
    } else {
      this.positions = this.addChild("positions", makePositions(scheme, { maxLen: this.maxLen, width: embDim, seed: rng.seed() }));
    }
    // The sinusoidal table is fixed, with values of size ~0.7 per coordinate. Token embeddings at a learned
    // table's scale (std 0.02) would be a 3% ripple on it: the blocks could barely tell one word from another
    // and learn nothing for hundreds of steps. So, as Vaswani et al. (§3.4), multiply the embeddings by √dim.
    this.embedScale = sinusoidal ? Math.sqrt(embDim) : 1;
    if (opts.embeddingNorm ?? this.norm === "post") this.embeddingNorm = this.addChild("embeddingNorm", new LayerNorm(embDim));
    // ELECTRA-style: embeddings live in their own (smaller) dim, then a linear map to the model width.
    if (embDim !== width) this.embedProjection = this.addChild("embedProjection", new Linear({ inDim: embDim, outDim: width, seed: rng.seed() }));
    for (let i = 0; i < layers; i++) {
      this.blocks.push(this.addChild(`layer${i}`, new TransformerBlock({
        width, heads: opts.heads, mlpRatio: opts.mlpRatio, activation: opts.activation, dropout: this.dropoutRate,
        attentionDropout: opts.attentionDropout, norm: this.norm, residual: opts.residual, mlp: opts.mlp,
        crossAttention, seed: rng.seed(),
      })));
    }
    if (this.norm === "pre") this.finalNorm = this.addChild("finalNorm", new LayerNorm(width));
    this.rng = rng.fork();
  }

  /** ids: [batch, t] int32 -> [batch, t, width]: token + position embeddings (-> norm, dropout, projection). */
  embed(ids: tf.Tensor, training = false): tf.Tensor3D {
    if (ids.rank !== 2) throw new Error(`token ids must be [batch, time], got [${ids.shape}].`);
    return tf.tidy(() => {
      const t = ids.shape[1] as number;
      if (t > this.maxLen) throw new Error(`sequence length (${t}) exceeds maxLen (${this.maxLen}): truncate inputs to ${this.maxLen} tokens or build the model with maxLen >= ${t}.`);
      const tokens = this.embedding.apply(ids);
      const scaled = this.embedScale === 1 ? tokens : tf.mul(tokens, this.embedScale);
      let e = this.positions ? tf.add(scaled, this.positions.apply(t)) : scaled;
      if (this.embeddingNorm) e = this.embeddingNorm.apply(e);
      e = dropout(e, this.dropoutRate, training, this.rng);
      if (this.embedProjection) e = this.embedProjection.apply(e);
      return e as tf.Tensor3D;
    });
  }

  protected run(ids: tf.Tensor, mask: tf.Tensor | undefined, opts: StackApplyOptions, context?: tf.Tensor, contextMask?: tf.Tensor) {
    const training = opts.training ?? false;
    const returnWeights = opts.returnAttention ?? false;
    let h: tf.Tensor3D = this.embed(ids, training);
    // A relative bias is one more additive mask, computed once per forward and read by every layer.
    if (this.relativeBias) mask = combineMasks(mask, this.relativeBias.apply(ids.shape[1] as number));
    const attentions: tf.Tensor4D[] = [];
    const crossAttentions: tf.Tensor4D[] = [];
    const hiddenStates: tf.Tensor3D[] = [h];
    for (const block of this.blocks) {
      const r = block.apply(h, { mask, context, contextMask, training, returnWeights });
      h = r.output;
      hiddenStates.push(h);
      if (r.attention) attentions.push(r.attention);
      if (r.crossAttention) crossAttentions.push(r.crossAttention);
    }
    const hidden = (this.finalNorm ? this.finalNorm.apply(h) : h) as tf.Tensor3D;
    return { hidden, attentions, crossAttentions, hiddenStates };
  }
}

function checkMask01(mask01: tf.Tensor | undefined, ids: tf.Tensor): void {
  if (mask01 && (mask01.rank !== 2 || mask01.shape[0] !== ids.shape[0] || mask01.shape[1] !== ids.shape[1])) {
    throw new Error(`mask01 must have the shape of the ids [${ids.shape}], got [${mask01.shape}].`);
  }
}

/** Full (bidirectional) attention over the input; pass attentionMask for causal or prefix-LM variants. */
export class TransformerEncoder extends TransformerStack {
  constructor(opts: TransformerStackOptions) {
    super("TransformerEncoder", opts, false);
  }

  /**
   * ids: [batch, t] int32 -> {hidden [batch, t, width], attentions? layers × [batch, heads, t, t],
   * hiddenStates? (layers + 1) × [batch, t, width]}
   */
  apply(ids: tf.Tensor, opts: StackApplyOptions = {}): StackResult {
    checkMask01(opts.mask01, ids);
    return tf.tidy(() => {
      const mask = combineMasks(opts.mask01 ? paddingMask(opts.mask01) : undefined, opts.attentionMask);
      const r = this.run(ids, mask, opts);
      const out: StackResult = { hidden: r.hidden };
      if (opts.returnAttention) out.attentions = r.attentions;
      if (opts.returnHiddenStates) out.hiddenStates = r.hiddenStates;
      return out;
    });
  }
}

export interface DecoderOptions extends TransformerStackOptions {
  /** Cross-attend to an encoder output in every block (default true; false = decoder-only LM). */
  crossAttention?: boolean;
}

export interface DecoderApplyOptions extends StackApplyOptions {
  /** Encoder output [batch, s, width]; required when the decoder has cross-attention. */
  context?: tf.Tensor;
  /** [batch, s]: 1 = real encoder token, 0 = padding. */
  contextMask01?: tf.Tensor;
}

export type DecoderResult = StackResult & {
  /** layers entries of [batch, heads, t, s] (with returnAttention and cross-attention). */
  crossAttentions?: tf.Tensor4D[];
};

/** Causal stack: position i sees target positions <= i (and, with cross-attention, the whole context). */
export class TransformerDecoder extends TransformerStack {
  readonly hasCrossAttention: boolean;
  constructor(opts: DecoderOptions) {
    super("TransformerDecoder", opts, opts.crossAttention ?? true, true);
    this.hasCrossAttention = opts.crossAttention ?? true;
  }

  /**
   * ids: [batch, t] int32 (context: [batch, s, width]) -> {hidden [batch, t, width],
   * attentions? layers × [batch, heads, t, t], crossAttentions? layers × [batch, heads, t, s], hiddenStates?}
   */
  apply(ids: tf.Tensor, opts: DecoderApplyOptions = {}): DecoderResult {
    checkMask01(opts.mask01, ids);
    checkShapes("TransformerDecoder", {
      ids: [ids, ["batch", "t"]],
      context: [opts.context, ["batch", "s", this.width]],
      contextMask01: [opts.contextMask01, ["batch", "s"]],
    }, "context is the encoder output [batch, s, width] and contextMask01 its padding mask [batch, s].");
    return tf.tidy(() => {
      const t = ids.shape[1] as number;
      const mask = combineMasks(causalMask(t), opts.mask01 ? paddingMask(opts.mask01) : undefined, opts.attentionMask);
      const contextMask = opts.contextMask01 ? paddingMask(opts.contextMask01) : undefined;
      const r = this.run(ids, mask, opts, opts.context, contextMask);
      const out: DecoderResult = { hidden: r.hidden };
      if (opts.returnAttention) {
        out.attentions = r.attentions;
        if (this.hasCrossAttention) out.crossAttentions = r.crossAttentions;
      }
      if (opts.returnHiddenStates) out.hiddenStates = r.hiddenStates;
      return out;
    });
  }
}
