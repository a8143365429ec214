// The transformer seq2seq family of lecture 5 (Raffel et al. 2020, T5 §3.2), ONE model with the architecture as a
// flag (./architectures.ts): "encoder-decoder", "decoder-only" or "prefix-lm". Everything but the attention
// pattern is shared — the vocabulary (one, text-to-text), the token embedding, the blocks, the output layer, the
// target side, the loss — so the architectures differ exactly where the paper says they do.
//
//   encoder-decoder   encoder(source) → decoder(BOS y1 .. ym) with cross-attention      (two stacks)
//   decoder-only      decoder([x1 .. xS ; SEP ; BOS y1 .. ym]), causal                   (one stack)
//   prefix-lm         the same sequence, full attention over [x ; SEP], causal after     (one stack)
//
// The single stack's batch is laid out so that the target side lines up for every row: sources LEFT-padded,
// then SEP, then the decoder input right-padded. Real tokens are contiguous in each row, so relative position
// biases (ALiBi, T5) see the true distances; absolute positions are given per row (positionIds). The hidden
// states of the last T columns are exactly the encoder-decoder's decoder outputs: same output layer, same
// teacher-forced loss on target tokens only (lib/data/seq2seq.ts) — no loss on source tokens.
//
// Decoding is incremental: `beginDecoding` runs the encoder (or the prefix) once and keeps, per layer, the keys
// and values of everything attended to; each `decodeStep` computes the new token's keys and values only and
// appends them (lib/nn/transformer.ts, `past`/`returnKeyValues`). Greedy, beam search and sampling come from
// lib/decode. `recomputingDecoder()` is the same model decoding WITHOUT the cache (every step re-runs the whole
// prefix): the reference the cache is tested against, and the cost it saves.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../../nn/module";
import { Activation, Embedding, Linear } from "../../nn/layers";
import { KeyValues } from "../../nn/attention";
import { NormPlacement, PositionScheme, TransformerDecoder, TransformerEncoder, isRelativeScheme } from "../../nn/transformer";
import { Seq2SeqBatch, Seq2SeqExample, collateSeq2Seq } from "../../data/seq2seq";
import { EOS_ID, PAD_ID, SEP_ID } from "../../data/vocab";
import { padIds } from "../../data/batching";
import { maskedSequenceLoss } from "../../train/losses";
import { Trainable, TensorBatch, disposeBatch } from "../../train/model";
import { DecoderState, StepDecoder, StepOutput, TensorRecord } from "../../decode/step";
import { seq2seqTrainingFlops } from "../flops";
import { Seq2SeqArchitecture, checkArchitecture, isSingleStack } from "./architectures";
import { Rng } from "../../random";

export interface TransformerSeq2SeqOptions {
  /** "encoder-decoder" (default), "decoder-only" or "prefix-lm". */
  architecture?: Seq2SeqArchitecture;
  /** One vocabulary for source and target (text-to-text; build the codec with shared: true). */
  vocabSize: number;
  /** Model width (default 64). */
  width?: number;
  /** Attention heads (default 4; must divide width). */
  heads?: number;
  /** Blocks of the single stack, and of each stack of the encoder-decoder unless set below (default 2). */
  layers?: number;
  encoderLayers?: number;
  decoderLayers?: number;
  mlpRatio?: number;
  activation?: Activation;
  /** Dropout on embeddings and sub-layer outputs (default 0.1). */
  dropout?: number;
  /** Layer norm placement (default "pre", as T5: stable without a long warm-up). */
  norm?: NormPlacement;
  /**
   * Word order: "sinusoidal" (default), "learned", "alibi" or "t5". Measured on reversing strings (200 steps):
   * absolute positions win clearly for the encoder-decoder (exact match 0.85 sinusoidal, 0.75 learned, 0.20
   * ALiBi, 0.23 T5): its cross-attention has no position bias, so relative schemes leave the decoder unable to
   * tell where in the source it is. COGS's logical forms name word positions (x _ 3), which needs the same.
   */
  positions?: PositionScheme;
  /** Longest source (longer ones are truncated with a warning; default 128). */
  maxSourceLen?: number;
  /** Longest target without EOS: the default decoding limit (default 128). */
  maxTargetLen?: number;
  seed?: number;
}

/** A collated batch: the usual seq2seq tensors, and for a single stack the packed sequence [b, S + 1 + T]. */
export type TransformerSeq2SeqBatch = Seq2SeqBatch & TensorBatch;

export interface TransformerForward {
  /** [batch, T, vocabSize]: next-token scores at every target position. */
  logits: tf.Tensor3D;
  /** With returnAttention, per layer [batch, heads, tq, tk]: the single stack's, or the encoder's / decoder's. */
  encoderAttentions?: tf.Tensor4D[];
  decoderAttentions?: tf.Tensor4D[];
  crossAttentions?: tf.Tensor4D[];
}

function positiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`TransformerSeq2Seq ${what} (${v}) must be a positive integer.`);
}

/** Sources (truncated to maxLen) LEFT-padded to the longest, then SEP: ids and 0/1 mask rows of length S + 1. */
function prefixRows(sources: readonly number[][], maxLen: number): { ids: number[][]; mask: number[][] } {
  const cut = sources.map((s) => s.slice(0, maxLen));
  const S = Math.max(...cut.map((s) => s.length));
  return {
    ids: cut.map((s) => [...new Array<number>(S - s.length).fill(PAD_ID), ...s, SEP_ID]),
    mask: cut.map((s) => [...new Array<number>(S - s.length).fill(0), ...new Array<number>(s.length + 1).fill(1)]),
  };
}

export class TransformerSeq2Seq extends Module implements Trainable<Seq2SeqExample, TransformerSeq2SeqBatch>, StepDecoder {
  readonly architecture: Seq2SeqArchitecture;
  readonly vocabSize: number;
  readonly targetVocabSize: number;
  readonly width: number;
  readonly maxSourceLen: number;
  readonly maxTargetLen: number;
  /** With absolute positions, decoding stops being possible after maxTargetLen + 1 tokens (StepDecoder). */
  readonly maxDecodeLength?: number;
  readonly embedding: Embedding;
  /** Present for "encoder-decoder" only. */
  readonly encoder?: TransformerEncoder;
  /** The decoder of the encoder-decoder, or the single stack of "decoder-only" / "prefix-lm". */
  readonly decoder: TransformerDecoder;
  readonly output: Linear;
  private readonly absolutePositions: boolean;
  private readonly cfg: Record<string, unknown>;
  /** Where truncation warnings go (tests silence it). */
  warn: (message: string) => void = console.warn;

  constructor(opts: TransformerSeq2SeqOptions) {
    super();
    const architecture = (this.architecture = opts.architecture ?? "encoder-decoder");
    checkArchitecture(architecture);
    positiveInt("vocabSize", opts.vocabSize);
    if (opts.vocabSize <= EOS_ID) throw new Error(`vocabSize (${opts.vocabSize}) must include the special tokens (ids 0..${EOS_ID}): build it with Vocab.`);
    const width = (this.width = opts.width ?? 64);
    const layers = opts.layers ?? 2;
    const encoderLayers = architecture === "encoder-decoder" ? opts.encoderLayers ?? layers : 0;
    const decoderLayers = architecture === "encoder-decoder" ? opts.decoderLayers ?? layers : layers;
    if (architecture !== "encoder-decoder" && (opts.encoderLayers !== undefined || opts.decoderLayers !== undefined)) {
      throw new Error(`encoderLayers/decoderLayers apply to the encoder-decoder; a ${architecture} model has one stack: set layers.`);
    }
    this.maxSourceLen = opts.maxSourceLen ?? 128;
    this.maxTargetLen = opts.maxTargetLen ?? 128;
    for (const [k, v] of [["layers", decoderLayers], ["maxSourceLen", this.maxSourceLen], ["maxTargetLen", this.maxTargetLen]] as const) positiveInt(k, v);
    if (architecture === "encoder-decoder") positiveInt("encoderLayers", encoderLayers);
    this.vocabSize = this.targetVocabSize = opts.vocabSize;
    const positions = opts.positions ?? "sinusoidal";
    this.absolutePositions = !isRelativeScheme(positions);
    this.maxDecodeLength = this.absolutePositions ? this.maxTargetLen + 1 : undefined;
    const rng = new Rng(opts.seed ?? 0);
    // One token embedding for every stack (one vocabulary); N(0, 1) as PyTorch's default — with sinusoidal
    // positions the stack uses its own init instead (see TransformerStack).
    this.embedding = this.addChild("embedding", new Embedding({ vocabSize: opts.vocabSize, dim: width, initStd: positions === "sinusoidal" ? 1 / Math.sqrt(width) : 1, seed: rng.seed() }));
    const common = {
      width, heads: opts.heads ?? 4, mlpRatio: opts.mlpRatio, activation: opts.activation, dropout: opts.dropout ?? 0.1,
      norm: opts.norm ?? ("pre" as NormPlacement), positions, embedding: this.embedding,
    };
    if (architecture === "encoder-decoder") {
      this.encoder = this.addChild("encoder", new TransformerEncoder({ ...common, layers: encoderLayers, maxLen: this.maxSourceLen, seed: rng.seed() }));
      this.decoder = this.addChild("decoder", new TransformerDecoder({ ...common, layers: decoderLayers, maxLen: this.maxTargetLen + 1, seed: rng.seed() }));
    } else {
      this.decoder = this.addChild("decoder", new TransformerDecoder({
        ...common, layers: decoderLayers, crossAttention: false, prefixLm: architecture === "prefix-lm",
        maxLen: this.maxSourceLen + 1 + this.maxTargetLen + 1, seed: rng.seed(),
      }));
    }
    this.output = this.addChild("output", new Linear({ inDim: width, outDim: opts.vocabSize, seed: rng.seed() }));
    this.cfg = {
      architecture, vocabSize: opts.vocabSize, width, heads: common.heads, encoderLayers, decoderLayers, mlpRatio: opts.mlpRatio ?? 4,
      activation: opts.activation ?? "gelu", dropout: common.dropout, norm: common.norm, positions,
      maxSourceLen: this.maxSourceLen, maxTargetLen: this.maxTargetLen, seed: opts.seed ?? 0,
    };
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  /** Training FLOPs per step for sources / targets of these lengths (lib/models/flops.ts: seq2seqTrainingFlops). */
  trainingFlops(o: { sourceLength: number; targetLength: number; batchSize: number }): number {
    const c = this.cfg as { encoderLayers: number; decoderLayers: number; mlpRatio: number };
    return seq2seqTrainingFlops({ architecture: this.architecture, width: this.width, mlpRatio: c.mlpRatio, encoderLayers: c.encoderLayers, decoderLayers: c.decoderLayers, vocabSize: this.vocabSize, ...o }).training;
  }

  collate(examples: Seq2SeqExample[]): TransformerSeq2SeqBatch {
    examples.forEach((e, i) => {
      const bad = e?.source?.find((id) => id >= this.vocabSize) ?? e?.target?.find((id) => id >= this.vocabSize);
      if (bad !== undefined) throw new Error(`example ${i} has id ${bad}, outside the model's vocabulary (${this.vocabSize}): build the model from the codec's vocabulary size.`);
    });
    const batch: TransformerSeq2SeqBatch = collateSeq2Seq(examples, { maxSourceLen: this.maxSourceLen, maxTargetLen: this.maxTargetLen, warn: this.warn });
    if (isSingleStack(this.architecture)) {
      // [left-padded source ; SEP ; decoder input]: BOS and the target tokens kept (collateSeq2Seq truncated them).
      const prefix = prefixRows(examples.map((e) => e.source), this.maxSourceLen);
      const dec = padIds(examples.map((e) => new Array<number>(Math.min(e.target.length, this.maxTargetLen) + 1).fill(1)), { padId: 0 });
      const b = examples.length;
      const t = prefix.ids[0].length + dec.length;
      tf.tidy(() => {
        const input = batch.decoderInput.arraySync() as number[][];
        batch.sequenceIds = tf.keep(tf.tensor2d(prefix.ids.map((p, i) => [...p, ...input[i]]).flat(), [b, t], "int32"));
        batch.sequenceMask = tf.keep(tf.tensor2d(prefix.mask.map((p, i) => [...p, ...dec.ids[i]]).flat(), [b, t], "float32"));
      });
    }
    return batch;
  }

  /** The single stack over a packed sequence [b, P + T] -> its last T columns' hidden states [b, T, width]. */
  private singleStack(sequenceIds: tf.Tensor, sequenceMask: tf.Tensor, targetColumns: number, training: boolean, returnAttention = false) {
    const [b, t] = sequenceIds.shape as [number, number];
    const prefix = t - targetColumns;
    // Absolute positions count real tokens only, so left padding does not shift them.
    const positionIds = this.absolutePositions ? tf.relu(tf.sub(tf.cumsum(sequenceMask, 1), 1)).toInt() : undefined;
    const r = this.decoder.apply(sequenceIds, {
      mask01: sequenceMask, prefixLength: this.architecture === "prefix-lm" ? prefix : 0, positionIds, training, returnAttention,
    });
    return { hidden: r.hidden.slice([0, prefix, 0], [b, targetColumns, this.width]) as tf.Tensor3D, attentions: r.attentions };
  }

  /** Teacher-forced forward pass: logits for every target position [batch, T, vocabSize]. */
  forward(batch: TransformerSeq2SeqBatch, opts: { training?: boolean; returnAttention?: boolean } = {}): TransformerForward {
    const training = opts.training ?? false;
    const returnAttention = opts.returnAttention ?? false;
    return tf.tidy(() => {
      const T = batch.decoderInput.shape[1];
      if (this.encoder) {
        const enc = this.encoder.apply(batch.sourceIds, { mask01: batch.sourceMask, training, returnAttention });
        const dec = this.decoder.apply(batch.decoderInput, { context: enc.hidden, contextMask01: batch.sourceMask, training, returnAttention });
        const logits = this.output.apply(dec.hidden) as tf.Tensor3D;
        return returnAttention ? { logits, encoderAttentions: enc.attentions, decoderAttentions: dec.attentions, crossAttentions: dec.crossAttentions } : { logits };
      }
      if (!batch.sequenceIds) throw new Error(`a ${this.architecture} model needs the packed sequence: collate the examples with this model's collate().`);
      const r = this.singleStack(batch.sequenceIds, batch.sequenceMask, T, training, returnAttention);
      const logits = this.output.apply(r.hidden) as tf.Tensor3D;
      return returnAttention ? { logits, decoderAttentions: r.attentions } : { logits };
    });
  }

  /** Mean cross-entropy over real target tokens (EOS included; source tokens and padding never count). */
  loss(batch: TransformerSeq2SeqBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => maskedSequenceLoss(this.forward(batch, { training }).logits, batch.decoderTarget, batch.targetMask));
  }

  // ------------------------------------------------------------------------------------- StepDecoder

  private layerCache(carry: TensorRecord): KeyValues[] | undefined {
    if (!carry.k0) return undefined;
    return this.decoder.blocks.map((_, l) => ({ k: carry[`k${l}`] as tf.Tensor4D, v: carry[`v${l}`] as tf.Tensor4D }));
  }

  private static cacheRecord(kvs: KeyValues[], prefix = ""): TensorRecord {
    const out: TensorRecord = {};
    kvs.forEach((kv, l) => ((out[`${prefix}k${l}`] = kv.k), (out[`${prefix}v${l}`] = kv.v)));
    return out;
  }

  /**
   * Encode once. Encoder-decoder: the encoder output's cross-attention keys/values per layer (memory) and an
   * empty self-attention cache (carry). Single stack: the prefix [source ; SEP] run through the stack, its keys
   * and values per layer as the cache to continue from (carry), and its padding mask (memory).
   */
  beginDecoding(sources: number[][]): DecoderState {
    if (this.encoder) {
      const batch = collateSeq2Seq(sources.map((source) => ({ source, target: [] })), { maxSourceLen: this.maxSourceLen, warn: this.warn });
      try {
        return tf.tidy(() => {
          const enc = this.encoder!.apply(batch.sourceIds, { mask01: batch.sourceMask });
          const memory = { sourceMask: batch.sourceMask.clone(), ...TransformerSeq2Seq.cacheRecord(this.decoder.crossKeyValues(enc.hidden), "cross") };
          return { carry: {}, memory };
        });
      } finally {
        disposeBatch(batch);
      }
    }
    if (sources.some((s) => s.length > this.maxSourceLen)) this.warn(`beginDecoding: sources truncated to maxSourceLen (${this.maxSourceLen}) tokens.`);
    const prefix = prefixRows(sources, this.maxSourceLen);
    const [b, P] = [sources.length, prefix.ids[0].length];
    return tf.tidy(() => {
      const ids = tf.tensor2d(prefix.ids.flat(), [b, P], "int32");
      const mask = tf.tensor2d(prefix.mask.flat(), [b, P], "float32");
      const positionIds = this.absolutePositions ? tf.relu(tf.sub(tf.cumsum(mask, 1), 1)).toInt() : undefined;
      const r = this.decoder.apply(ids, { mask01: mask, prefixLength: this.architecture === "prefix-lm" ? P : 0, positionIds, returnKeyValues: true });
      // The real prefix length of each row: the position the first generated token (BOS) takes.
      return { carry: TransformerSeq2Seq.cacheRecord(r.keyValues!), memory: { prefixMask: mask, prefixLength: tf.sum(mask, 1).toInt() } };
    });
  }

  /** One token per row over the cache: its keys/values are appended, nothing before it is recomputed. */
  decodeStep(prevTokens: tf.Tensor1D, state: DecoderState): StepOutput {
    return tf.tidy(() => {
      const rows = prevTokens.shape[0];
      const ids = prevTokens.reshape([rows, 1]);
      const past = this.layerCache(state.carry);
      const m = state.memory;
      let r;
      if (this.encoder) {
        const contextKeyValues = this.decoder.blocks.map((_, l) => ({ k: m[`crossk${l}`] as tf.Tensor4D, v: m[`crossv${l}`] as tf.Tensor4D }));
        r = this.decoder.apply(ids, { past, contextKeyValues, contextMask01: m.sourceMask, returnKeyValues: true });
      } else {
        const pastLen = past![0].k.shape[2];
        const P = m.prefixMask.shape[1] as number;
        const mask01 = tf.concat([m.prefixMask, tf.ones([rows, pastLen + 1 - P])], 1);
        const positionIds = this.absolutePositions ? tf.add(m.prefixLength, pastLen - P).reshape([rows, 1]) : undefined;
        r = this.decoder.apply(ids, { past, mask01, positionIds, returnKeyValues: true });
      }
      const logits = this.output.apply(r.hidden.reshape([rows, this.width])) as tf.Tensor2D;
      return { logits, carry: TransformerSeq2Seq.cacheRecord(r.keyValues!) };
    });
  }

  /**
   * The same model as a StepDecoder WITHOUT a key/value cache: every step re-runs the whole decoder input so far
   * (and, for a single stack, the whole prefix). Same tokens and scores as the cached decoder, O(length²) work.
   */
  recomputingDecoder(): StepDecoder {
    const model = this;
    return {
      targetVocabSize: this.vocabSize,
      maxTargetLen: this.maxTargetLen,
      maxDecodeLength: this.maxDecodeLength,
      beginDecoding(sources: number[][]): DecoderState {
        const batch = model.collate(sources.map((source) => ({ source, target: [] })));
        const memory: TensorRecord = { sourceIds: batch.sourceIds, sourceMask: batch.sourceMask };
        const seq = batch.sequenceIds;
        if (seq) {
          // The prefix columns of the packed sequence (the empty target left only BOS after them).
          const P = (seq.shape[1] as number) - 1;
          memory.prefixIds = seq.slice([0, 0], [sources.length, P]);
          memory.prefixMask = batch.sequenceMask.slice([0, 0], [sources.length, P]);
        }
        for (const t of Object.values(batch)) if (!Object.values(memory).includes(t)) t.dispose();
        return { carry: {}, memory };
      },
      decodeStep(prevTokens: tf.Tensor1D, state: DecoderState): StepOutput {
        return tf.tidy(() => {
          const rows = prevTokens.shape[0];
          const tokens = state.carry.tokens ? tf.concat([state.carry.tokens, prevTokens.reshape([rows, 1])], 1) : prevTokens.reshape([rows, 1]);
          const m = state.memory;
          const T = tokens.shape[1] as number;
          const batch = { sourceIds: m.sourceIds, sourceMask: m.sourceMask, decoderInput: tokens } as TransformerSeq2SeqBatch;
          if (m.prefixIds) {
            batch.sequenceIds = tf.concat([m.prefixIds, tokens], 1);
            batch.sequenceMask = tf.concat([m.prefixMask, tf.ones([rows, T])], 1);
          }
          const logits = model.forward(batch).logits.slice([0, T - 1, 0], [rows, 1, model.vocabSize]).reshape([rows, model.vocabSize]) as tf.Tensor2D;
          return { logits, carry: { tokens } };
        });
      },
    };
  }
}
