// The transformer stacks built from blocks (./transformer_block.ts): an encoder (full attention) and a causal
// decoder (optionally cross-attending to an encoder's output, optionally a prefix LM), with token and position
// embeddings. Both can run incrementally over a key/value cache (`past`, `returnKeyValues`): the decoders of
// lib/decode generate one token per call instead of recomputing the whole prefix.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Activation, Embedding, LayerNorm, Linear, dropout } from "./layers";
import { KeyValues, causalMask, combineMasks, paddingMask, prefixLmMask } from "./attention";
import { PositionKind, Positions, makePositions } from "./positions";
import { AlibiBias, RELATIVE_BIAS_KINDS, RelativeBias, RelativeBiasKind, makeRelativeBias } from "./relative_positions";
import { NORM_PLACEMENTS, NormPlacement, TransformerBlock, checkChoice, checkRate } from "./transformer_block";
import { Rng } from "../random";
import { checkShapes } from "./check";

export { NORM_PLACEMENTS, TransformerBlock } from "./transformer_block";
export type { BlockApplyOptions, BlockResult, NormPlacement, TransformerBlockOptions } from "./transformer_block";

/** Absolute positions added to the tokens ("learned", "sinusoidal") or a relative bias on the scores ("alibi", "t5"). */
export type PositionScheme = PositionKind | RelativeBiasKind;
export const isRelativeScheme = (s: PositionScheme): s is RelativeBiasKind => (RELATIVE_BIAS_KINDS as readonly string[]).includes(s);

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
  /** With positions "alibi": multiplies every head's slope (default 1, the paper's; see alibiSlopes). */
  alibiSlopeScale?: number;
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
  /**
   * Incremental decoding: per layer, the self-attention keys/values of the tPast positions before `ids` (from
   * an earlier call's `keyValues`). The ids are then positions tPast..tPast+t-1, and mask01 covers all
   * tPast + t keys: [batch, tPast + t].
   */
  past?: KeyValues[];
  /** Return each layer's keys/values (past and these positions): the cache for the next call. */
  returnKeyValues?: boolean;
  /**
   * [batch, t] int32: each token's absolute position (default: its column, after any past). Rows whose real
   * tokens do not start at column 0 (left padding) pass their own. Unused by relative schemes.
   */
  positionIds?: tf.Tensor;
}

export type StackResult = {
  /** [batch, t, width] — after the final LayerNorm for pre-LN. */
  hidden: tf.Tensor3D;
  /** layers entries of [batch, heads, t, t]. */
  attentions?: tf.Tensor4D[];
  /** layers + 1 entries of [batch, t, width]. */
  hiddenStates?: tf.Tensor3D[];
  /** layers entries of {k, v} [batch, heads, tPast + t, dh], with returnKeyValues. */
  keyValues?: KeyValues[];
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
    if (opts.alibiSlopeScale !== undefined && scheme !== "alibi") throw new Error(`${name} alibiSlopeScale (${opts.alibiSlopeScale}) applies to positions "alibi" only (positions are "${scheme}"): leave it out.`);
    if (isRelativeScheme(scheme)) {
      this.relativeBias = this.addChild("relativeBias", makeRelativeBias(scheme, { heads: opts.heads, bidirectional: !causal, alibiSlopeScale: opts.alibiSlopeScale, seed: rng.seed() }));
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

  /** Also refuses a source whose fixed position bias differs (ALiBi's slopes are not parameters, so not copied). */
  override copyWeightsFrom(source: Module): this {
    const slopes = (m: Module) => (m instanceof TransformerStack && m.relativeBias instanceof AlibiBias ? m.relativeBias.slopes.join(", ") : null);
    if (source instanceof TransformerStack && slopes(source) !== slopes(this)) {
      throw new Error(`copyWeightsFrom: the source's ALiBi slopes (${slopes(source) ?? "none"}) differ from this stack's (${slopes(this) ?? "none"}): build both with the same positions and alibiSlopeScale.`);
    }
    return super.copyWeightsFrom(source);
  }

  /**
   * ids: [batch, t] int32 -> [batch, t, width]: token + position embeddings (-> norm, dropout, projection).
   * Positions are the columns 0..t-1, or `positionIds` [batch|1, t] (incremental decoding, left padding).
   */
  embed(ids: tf.Tensor, training = false, positionIds?: tf.Tensor): tf.Tensor3D {
    if (ids.rank !== 2) throw new Error(`token ids must be [batch, time], got [${ids.shape}].`);
    if (positionIds && (positionIds.rank !== 2 || positionIds.shape[1] !== ids.shape[1])) {
      throw new Error(`positionIds must be [batch, ${ids.shape[1]}] like the ids, got [${positionIds.shape}].`);
    }
    return tf.tidy(() => {
      const t = ids.shape[1] as number;
      if (t > this.maxLen) throw new Error(`sequence length (${t}) exceeds maxLen (${this.maxLen}): truncate inputs to ${this.maxLen} tokens or build the model with maxLen >= ${t}.`);
      const tokens = this.embedding.apply(ids);
      const scaled = this.embedScale === 1 ? tokens : tf.mul(tokens, this.embedScale);
      const table = (n: number) => this.positions!.apply(n);
      // Explicit positions are rows of the table (a gather); the plain case stays a slice (a cheaper gradient).
      const pos = !this.positions ? null : positionIds ? tf.gather(table(this.maxLen), tf.cast(positionIds, "int32")) : table(t);
      let e = pos ? tf.add(scaled, pos) : scaled;
      if (this.embeddingNorm) e = this.embeddingNorm.apply(e);
      e = dropout(e, this.dropoutRate, training, this.rng);
      if (this.embedProjection) e = this.embedProjection.apply(e);
      return e as tf.Tensor3D;
    });
  }

  /** Positions already in the cache (0 without one); checks that there is one entry per layer. */
  protected pastLength(opts: StackApplyOptions): number {
    if (!opts.past) return 0;
    if (opts.past.length !== this.blocks.length) throw new Error(`past must hold one {k, v} per layer (${this.blocks.length}), got ${opts.past.length}.`);
    return this.blocks.length ? (opts.past[0].k.shape[2] as number) : 0;
  }

  protected run(ids: tf.Tensor, mask: tf.Tensor | undefined, opts: StackApplyOptions, cross: { context?: tf.Tensor; contextMask?: tf.Tensor; contextKeyValues?: KeyValues[] } = {}) {
    const training = opts.training ?? false;
    const returnWeights = opts.returnAttention ?? false;
    const t = ids.shape[1] as number;
    const past = this.pastLength(opts);
    const positionIds = opts.positionIds ?? (past > 0 && this.positions ? tf.range(past, past + t, 1, "int32").reshape([1, t]) : undefined);
    let h: tf.Tensor3D = this.embed(ids, training, positionIds);
    // A relative bias is one more additive mask, computed once per forward and read by every layer. After a
    // cache of `past` keys, the queries are positions past..past+t-1.
    if (this.relativeBias) mask = combineMasks(mask, this.relativeBias.apply(t, past + t, past));
    const attentions: tf.Tensor4D[] = [];
    const crossAttentions: tf.Tensor4D[] = [];
    const keyValues: KeyValues[] = [];
    const hiddenStates: tf.Tensor3D[] = [h];
    this.blocks.forEach((block, l) => {
      const r = block.apply(h, {
        mask, context: cross.context, contextMask: cross.contextMask, contextKeyValues: cross.contextKeyValues?.[l], training, returnWeights,
        past: opts.past?.[l], returnKeyValues: opts.returnKeyValues,
      });
      h = r.output;
      hiddenStates.push(h);
      if (r.attention) attentions.push(r.attention);
      if (r.crossAttention) crossAttentions.push(r.crossAttention);
      if (r.keyValues) keyValues.push(r.keyValues);
    });
    const hidden = (this.finalNorm ? this.finalNorm.apply(h) : h) as tf.Tensor3D;
    return { hidden, attentions, crossAttentions, hiddenStates, keyValues };
  }

  /** The optional parts of a result that were asked for. */
  protected extras(r: ReturnType<TransformerStack["run"]>, opts: StackApplyOptions): Omit<StackResult, "hidden"> {
    return {
      ...(opts.returnAttention ? { attentions: r.attentions } : {}),
      ...(opts.returnHiddenStates ? { hiddenStates: r.hiddenStates } : {}),
      ...(opts.returnKeyValues ? { keyValues: r.keyValues } : {}),
    };
  }
}

/** mask01 covers the keys: the ids, after any cached positions ([batch, past + t]). */
function checkMask01(mask01: tf.Tensor | undefined, ids: tf.Tensor, past = 0): void {
  const t = (ids.shape[1] as number) + past;
  if (mask01 && (mask01.rank !== 2 || mask01.shape[0] !== ids.shape[0] || mask01.shape[1] !== t)) {
    throw new Error(past
      ? `mask01 must cover the cached and the new positions, [batch, past + time] = [${ids.shape[0]}, ${t}], got [${mask01.shape}].`
      : `mask01 must have the shape of the ids [${ids.shape}], got [${mask01.shape}].`);
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
    checkMask01(opts.mask01, ids, this.pastLength(opts));
    return tf.tidy(() => {
      const mask = combineMasks(opts.mask01 ? paddingMask(opts.mask01) : undefined, opts.attentionMask);
      const r = this.run(ids, mask, opts);
      return { hidden: r.hidden, ...this.extras(r, opts) };
    });
  }
}

export interface DecoderOptions extends TransformerStackOptions {
  /** Cross-attend to an encoder output in every block (default true; false = decoder-only LM). */
  crossAttention?: boolean;
  /**
   * The stack will be applied as a prefix LM (apply's prefixLength): its prefix attends forward, so T5 relative
   * buckets cover both directions (default false: past-only buckets).
   */
  prefixLm?: boolean;
}

export interface DecoderApplyOptions extends StackApplyOptions {
  /** Encoder output [batch, s, width]; required when the decoder has cross-attention (or contextKeyValues). */
  context?: tf.Tensor;
  /** Per layer, the context's cross-attention keys/values computed once (crossKeyValues): incremental decoding. */
  contextKeyValues?: KeyValues[];
  /** [batch, s]: 1 = real encoder token, 0 = padding. */
  contextMask01?: tf.Tensor;
  /**
   * Prefix LM (Raffel et al. 2020, §3.2.1): full attention among the first prefixLength positions, causal after
   * (prefixLmMask). Default 0: causal everywhere. Not with `past` (a cache continues after the prefix).
   */
  prefixLength?: number;
}

export type DecoderResult = StackResult & {
  /** layers entries of [batch, heads, t, s] (with returnAttention and cross-attention). */
  crossAttentions?: tf.Tensor4D[];
};

/** Causal stack: position i sees target positions <= i (and, with cross-attention, the whole context). */
export class TransformerDecoder extends TransformerStack {
  readonly hasCrossAttention: boolean;
  constructor(opts: DecoderOptions) {
    super("TransformerDecoder", opts, opts.crossAttention ?? true, !opts.prefixLm);
    this.hasCrossAttention = opts.crossAttention ?? true;
  }

  /** Per layer, the cross-attention keys/values of an encoder output [batch, s, width]: computed once per decode. */
  crossKeyValues(context: tf.Tensor): KeyValues[] {
    if (!this.hasCrossAttention) throw new Error("this TransformerDecoder has no cross-attention (built with crossAttention: false).");
    return this.blocks.map((b) => b.crossAttention!.keyValuesOf(context));
  }

  /**
   * ids: [batch, t] int32 (context: [batch, s, width]) -> {hidden [batch, t, width],
   * attentions? layers × [batch, heads, t, t], crossAttentions? layers × [batch, heads, t, s], hiddenStates?}
   */
  apply(ids: tf.Tensor, opts: DecoderApplyOptions = {}): DecoderResult {
    const past = this.pastLength(opts);
    checkMask01(opts.mask01, ids, past);
    checkShapes("TransformerDecoder", {
      ids: [ids, ["batch", "t"]],
      context: [opts.context, ["batch", "s", this.width]],
      contextMask01: [opts.contextMask01, ["batch", "s"]],
    }, "context is the encoder output [batch, s, width] and contextMask01 its padding mask [batch, s].");
    const prefix = opts.prefixLength ?? 0;
    if (prefix && past) throw new Error("prefixLength applies to a whole sequence; with past (incremental decoding) every new token is after the prefix: drop prefixLength.");
    return tf.tidy(() => {
      const t = ids.shape[1] as number;
      const pattern = prefix ? prefixLmMask(t, prefix) : causalMask(t, past + t);
      const mask = combineMasks(pattern, opts.mask01 ? paddingMask(opts.mask01) : undefined, opts.attentionMask);
      const contextMask = opts.contextMask01 ? paddingMask(opts.contextMask01) : undefined;
      const r = this.run(ids, mask, opts, { context: opts.context, contextMask, contextKeyValues: opts.contextKeyValues });
      const out: DecoderResult = { hidden: r.hidden, ...this.extras(r, opts) };
      if (opts.returnAttention && this.hasCrossAttention) out.crossAttentions = r.crossAttentions;
      return out;
    });
  }
}
