// The RNN encoder-decoder of lecture 5 (Sutskever et al. 2014; Cho et al. 2014), with or without Luong et al.
// (2015)'s global attention and input feeding.
//
//   encoder   source embeddings → (bi)directional, stacked LSTM/GRU → outputs h̄_1..h̄_S, final states
//   decoder   starts from the encoder's final states (fwd ‖ bwd per layer, so its width is the encoder's);
//             at step t reads the previous target word — and, with input feeding (Luong §3.3), the previous
//             attentional vector h̃_{t-1} — through its stacked cells to h_t;
//             without attention:  the next-word distribution is softmax(W_s h_t): everything the decoder
//                                 knows about the source went through ONE vector, the encoder's final state
//                                 (the bottleneck notebook 05 measures);
//             with attention:     h_t attends over h̄ (lib/nn/luong_attention.ts), h̃_t = tanh(W_c [c_t; h_t]),
//                                 p(y_t | y_<t, x) = softmax(W_s h̃_t).
//
// Training is teacher-forced (lib/data/seq2seq.ts) through the one Trainer. Decoding goes through the course's
// decoders (lib/decode), which call `beginDecoding` once and `decodeStep` per token: the step is the same
// function (`decoderStep`) that training unrolls, so what is trained is exactly what is decoded.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../../nn/module";
import { Embedding, Linear, dropout } from "../../nn/layers";
import { LuongAttention, LuongScore, LUONG_SCORES, AttentionMemory } from "../../nn/luong_attention";
import { RecurrentCell, RnnCell, RnnEncoder, RnnState } from "../../nn/rnn";
import { Seq2SeqBatch, Seq2SeqExample, collateSeq2Seq } from "../../data/seq2seq";
import { EOS_ID } from "../../data/vocab";
import { maskedSequenceLoss, targetLogProbs } from "../../train/losses";
import { Trainable, disposeBatch } from "../../train/model";
import { makeBatches } from "../../data/batching";
import { DecoderState, StepDecoder, StepOutput, TensorRecord } from "../../decode/step";
import { Rng } from "../../random";

export type AttentionKind = LuongScore | "none";
export const ATTENTION_KINDS: readonly AttentionKind[] = ["none", ...LUONG_SCORES];

export interface RnnSeq2SeqOptions {
  sourceVocabSize: number;
  targetVocabSize: number;
  /** Word embedding width on both sides (default 64). */
  embedDim?: number;
  /** Encoder hidden size per direction (default 128). The decoder's width is the encoder's output width. */
  hidden?: number;
  cell?: RnnCell;
  /** Stacked layers in the encoder and in the decoder (default 1). */
  layers?: number;
  /** Bidirectional encoder (default true). */
  bidirectional?: boolean;
  /** Luong score, or "none" for the plain encoder-decoder (default "general"). */
  attention?: AttentionKind;
  /** Feed h̃_{t-1} to the decoder's input (Luong §3.3; default true with attention, impossible without). */
  inputFeeding?: boolean;
  /** Dropout on embeddings, between layers and on h̃ (default 0.1). */
  dropout?: number;
  /** Longest source: longer ones are truncated with a warning (default 128). */
  maxSourceLen?: number;
  /** Longest target (without EOS): the default decoding limit; longer training targets are truncated (default 128). */
  maxTargetLen?: number;
  seed?: number;
}

export interface Seq2SeqForward {
  /** [batch, tgtTime, targetVocabSize] */
  logits: tf.Tensor3D;
  /** [batch, tgtTime, srcTime] alignment weights, with returnAttention and attention on. */
  attention?: tf.Tensor3D;
}

function positiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`RnnSeq2Seq ${what} (${v}) must be a positive integer.`);
}

export class RnnSeq2Seq extends Module implements Trainable<Seq2SeqExample, Seq2SeqBatch>, StepDecoder {
  readonly sourceVocabSize: number;
  readonly targetVocabSize: number;
  readonly maxSourceLen: number;
  readonly maxTargetLen: number;
  readonly attentionKind: AttentionKind;
  readonly inputFeeding: boolean;
  readonly numLayers: number;
  readonly cellKind: RnnCell;
  /** Decoder width = encoder output width (hidden, or 2·hidden when bidirectional). */
  readonly width: number;
  readonly sourceEmbedding: Embedding;
  readonly targetEmbedding: Embedding;
  readonly encoder: RnnEncoder;
  readonly decoderCells: RecurrentCell[] = [];
  readonly attention?: LuongAttention;
  readonly output: Linear;
  private readonly dropoutRate: number;
  private readonly rng: Rng;
  private readonly cfg: Record<string, unknown>;
  /** Where truncation warnings go (tests silence it). */
  warn: (message: string) => void = console.warn;

  constructor(opts: RnnSeq2SeqOptions) {
    super();
    positiveInt("sourceVocabSize", opts.sourceVocabSize);
    positiveInt("targetVocabSize", opts.targetVocabSize);
    if (opts.targetVocabSize <= EOS_ID) throw new Error(`targetVocabSize (${opts.targetVocabSize}) must include the special tokens (ids 0..${EOS_ID}): build it with Vocab.`);
    const embedDim = opts.embedDim ?? 64;
    const hidden = opts.hidden ?? 128;
    this.numLayers = opts.layers ?? 1;
    this.maxSourceLen = opts.maxSourceLen ?? 128;
    this.maxTargetLen = opts.maxTargetLen ?? 128;
    for (const [k, v] of [["embedDim", embedDim], ["hidden", hidden], ["layers", this.numLayers], ["maxSourceLen", this.maxSourceLen], ["maxTargetLen", this.maxTargetLen]] as const) positiveInt(k, v);
    this.attentionKind = opts.attention ?? "general";
    if (!ATTENTION_KINDS.includes(this.attentionKind)) throw new Error(`attention "${this.attentionKind}" is unknown: use one of ${ATTENTION_KINDS.join(", ")}.`);
    if (opts.inputFeeding && this.attentionKind === "none") throw new Error('inputFeeding feeds the attentional vector h̃ back in: it needs attention (set attention to "dot", "general" or "concat").');
    this.inputFeeding = opts.inputFeeding ?? this.attentionKind !== "none";
    this.dropoutRate = opts.dropout ?? 0.1;
    if (!(this.dropoutRate >= 0 && this.dropoutRate < 1)) throw new Error(`dropout (${this.dropoutRate}) must be in [0, 1).`);
    this.cellKind = opts.cell ?? "lstm";
    this.sourceVocabSize = opts.sourceVocabSize;
    this.targetVocabSize = opts.targetVocabSize;
    const bidirectional = opts.bidirectional ?? true;
    this.width = bidirectional ? 2 * hidden : hidden;
    const rng = new Rng(opts.seed ?? 0);
    this.rng = rng.fork();
    // Embeddings start at N(0, 1), PyTorch's default: with BERT's N(0, 0.02), or even 0.1, the cells' inputs are
    // nearly zero at the start and COGS trained 2–3× more slowly per step (measured against PyTorch's loss curve).
    this.sourceEmbedding = this.addChild("sourceEmbedding", new Embedding({ vocabSize: opts.sourceVocabSize, dim: embedDim, initStd: 1, seed: rng.seed() }));
    this.targetEmbedding = this.addChild("targetEmbedding", new Embedding({ vocabSize: opts.targetVocabSize, dim: embedDim, initStd: 1, seed: rng.seed() }));
    this.encoder = this.addChild("encoder", new RnnEncoder({ inDim: embedDim, hidden, cell: this.cellKind, bidirectional, layers: this.numLayers, seed: rng.seed() }));
    for (let l = 0; l < this.numLayers; l++) {
      const inDim = l === 0 ? embedDim + (this.inputFeeding ? this.width : 0) : this.width;
      this.decoderCells.push(this.addChild(`decoderLayer${l}`, new RecurrentCell({ cell: this.cellKind, inDim, hidden: this.width, seed: rng.seed() })));
    }
    if (this.attentionKind !== "none") {
      this.attention = this.addChild("attention", new LuongAttention({ score: this.attentionKind, queryDim: this.width, memoryDim: this.width, seed: rng.seed() }));
    }
    this.output = this.addChild("output", new Linear({ inDim: this.width, outDim: opts.targetVocabSize, seed: rng.seed() }));
    this.cfg = {
      sourceVocabSize: opts.sourceVocabSize, targetVocabSize: opts.targetVocabSize, embedDim, hidden, cell: this.cellKind,
      layers: this.numLayers, bidirectional, attention: this.attentionKind, inputFeeding: this.inputFeeding, dropout: this.dropoutRate,
      maxSourceLen: this.maxSourceLen, maxTargetLen: this.maxTargetLen, seed: opts.seed ?? 0,
    };
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  collate(examples: Seq2SeqExample[]): Seq2SeqBatch {
    examples.forEach((e, i) => {
      const bad = e?.source?.find((id) => id >= this.sourceVocabSize) ?? e?.target?.find((id) => id >= this.targetVocabSize);
      if (bad !== undefined) throw new Error(`example ${i} has id ${bad}, outside the model's vocabularies (source ${this.sourceVocabSize}, target ${this.targetVocabSize}): build the model from the codec's vocab sizes.`);
    });
    return collateSeq2Seq(examples, { maxSourceLen: this.maxSourceLen, maxTargetLen: this.maxTargetLen, warn: this.warn });
  }

  private drop(x: tf.Tensor, training: boolean): tf.Tensor {
    return dropout(x, this.dropoutRate, training, this.rng);
  }

  /** Encode once: outputs for attention and the decoder's initial carry. ids [b, S] int32, mask [b, S]. */
  private encodeSources(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): { memory: AttentionMemory | null; outputs: tf.Tensor3D; carry: TensorRecord } {
    const emb = this.drop(this.sourceEmbedding.apply(ids), training) as tf.Tensor3D;
    const { outputs, finalStates } = this.encoder.encode(emb, mask);
    const carry: TensorRecord = {};
    finalStates.forEach((s, l) => {
      carry[`h${l}`] = s.h;
      if (s.c) carry[`c${l}`] = s.c;
    });
    // h̃_0 for input feeding: zeros (nothing attended yet).
    if (this.inputFeeding) carry.feed = tf.zeros([ids.shape[0], this.width]);
    return { memory: this.attention ? this.attention.prepare(outputs, mask) : null, outputs, carry };
  }

  /**
   * One decoder step, shared by training (unrolled over the gold target) and decoding:
   * y [rows, embedDim] (the previous word's embedding), carry → h̃_t (or h_t without attention) [rows, width],
   * the next carry, and the alignment weights [rows, srcTime].
   */
  decoderStep(y: tf.Tensor2D, carry: TensorRecord, memory: AttentionMemory | null, training: boolean): { out: tf.Tensor2D; carry: TensorRecord; weights?: tf.Tensor2D } {
    const next: TensorRecord = {};
    let x: tf.Tensor2D = this.inputFeeding ? (tf.concat([y, carry.feed as tf.Tensor2D], 1) as tf.Tensor2D) : y;
    this.decoderCells.forEach((cell, l) => {
      const prev: RnnState = { h: carry[`h${l}`] as tf.Tensor2D, ...(carry[`c${l}`] ? { c: carry[`c${l}`] as tf.Tensor2D } : {}) };
      const s = cell.step(l > 0 ? (this.drop(x, training) as tf.Tensor2D) : x, prev);
      next[`h${l}`] = s.h;
      if (s.c) next[`c${l}`] = s.c;
      x = s.h;
    });
    if (!this.attention || !memory) return { out: x, carry: next };
    const { context, weights } = this.attention.attend(x, memory);
    const hTilde = this.attention.attentionalState(context, x) as tf.Tensor2D;
    if (this.inputFeeding) next.feed = hTilde;
    return { out: hTilde, carry: next, weights: weights as tf.Tensor2D };
  }

  /** Teacher-forced forward pass: logits for every target position (and the alignment weights). */
  forward(batch: Pick<Seq2SeqBatch, "sourceIds" | "sourceMask" | "decoderInput">, opts: { training?: boolean; returnAttention?: boolean } = {}): Seq2SeqForward {
    const training = opts.training ?? false;
    return tf.tidy(() => {
      const enc = this.encodeSources(batch.sourceIds, batch.sourceMask, training);
      const y = this.drop(this.targetEmbedding.apply(batch.decoderInput), training) as tf.Tensor3D; // [b, T, e]
      const { out, weights } = this.inputFeeding ? this.unrollSteps(y, enc.carry, enc.memory, training) : this.unrollSequence(y, enc.carry, enc.memory, training);
      // One output projection for all steps: [b·T, width] × [width, V].
      const logits = this.output.apply(this.drop(out, training)) as tf.Tensor3D;
      return opts.returnAttention && weights ? { logits, attention: weights } : { logits };
    });
  }

  /** Input feeding: step t reads h̃_{t-1}, so the decoder goes one step at a time. y [b, T, e] → h̃ [b, T, width]. */
  private unrollSteps(y: tf.Tensor3D, carry: TensorRecord, memory: AttentionMemory | null, training: boolean): { out: tf.Tensor3D; weights?: tf.Tensor3D } {
    const T = y.shape[1];
    // (tfjs 4.22's gradient of unstack fails for a single slice.)
    const ys = T === 1 ? [y.squeeze([1]) as tf.Tensor2D] : (tf.unstack(y, 1) as tf.Tensor2D[]);
    const outs: tf.Tensor2D[] = [];
    const weights: tf.Tensor2D[] = [];
    for (const yt of ys) {
      const s = this.decoderStep(yt, carry, memory, training);
      carry = s.carry;
      outs.push(s.out);
      if (s.weights) weights.push(s.weights);
    }
    const stack = (xs: tf.Tensor2D[]) => (xs.length === 1 ? xs[0].expandDims(1) : tf.stack(xs, 1)) as tf.Tensor3D;
    return { out: stack(outs), weights: weights.length ? stack(weights) : undefined };
  }

  /**
   * Without input feeding nothing flows from one step's attention into the next step's cell: each decoder layer
   * runs over the whole target at once (RecurrentCell.run, a fused kernel), and attention for all steps is one
   * batched product. The same function as `decoderStep` applied step by step (tested), several times faster.
   */
  private unrollSequence(y: tf.Tensor3D, carry: TensorRecord, memory: AttentionMemory | null, training: boolean): { out: tf.Tensor3D; weights?: tf.Tensor3D } {
    let x = y.transpose([1, 0, 2]) as tf.Tensor3D; // time-major [T, b, e]
    this.decoderCells.forEach((cell, l) => {
      const initial: RnnState = { h: carry[`h${l}`] as tf.Tensor2D, ...(carry[`c${l}`] ? { c: carry[`c${l}`] as tf.Tensor2D } : {}) };
      x = cell.run(l > 0 ? (this.drop(x, training) as tf.Tensor3D) : x, initial).h;
    });
    const h = x.transpose([1, 0, 2]) as tf.Tensor3D; // [b, T, width]
    if (!this.attention || !memory) return { out: h };
    const { context, weights } = this.attention.attend(h, memory);
    return { out: this.attention.attentionalState(context, h) as tf.Tensor3D, weights: weights as tf.Tensor3D };
  }

  /** Mean cross-entropy over real target tokens (EOS included, padding excluded). */
  loss(batch: Seq2SeqBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => maskedSequenceLoss(this.forward(batch, { training }).logits, batch.decoderTarget, batch.targetMask));
  }

  /**
   * log p(target, EOS | source) of each example under teacher forcing: how much the model likes a GIVEN output
   * (the gold one, or another decoder's), on the scale of Hypothesis.logProb.
   */
  scoreTargets(examples: Seq2SeqExample[], batchSize = 64): number[] {
    const out: number[] = [];
    for (const group of makeBatches(examples, { batchSize, shuffle: false })) {
      const batch = this.collate(group);
      try {
        out.push(...tf.tidy(() => {
          const logits = this.forward(batch).logits;
          const [b, T, V] = logits.shape;
          const lp = targetLogProbs(logits.reshape([b * T, V]) as tf.Tensor2D, batch.decoderTarget.reshape([b * T]) as tf.Tensor1D);
          return Array.from(tf.sum(tf.mul(lp.reshape([b, T]), batch.targetMask), 1).dataSync());
        }));
      } finally {
        disposeBatch(batch);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------- StepDecoder

  beginDecoding(sources: number[][]): DecoderState {
    const batch = this.collate(sources.map((source) => ({ source, target: [] })));
    try {
      return tf.tidy(() => {
        const enc = this.encodeSources(batch.sourceIds, batch.sourceMask, false);
        const memory: TensorRecord = {};
        if (enc.memory) {
          memory.memory = enc.memory.memory;
          // "dot" scores against the memory itself: keep one tensor, not two copies.
          if (enc.memory.keys !== enc.memory.memory) memory.keys = enc.memory.keys;
          memory.bias = enc.memory.bias;
        }
        return { carry: enc.carry, memory };
      });
    } finally {
      disposeBatch(batch);
    }
  }

  decodeStep(prevTokens: tf.Tensor1D, state: DecoderState): StepOutput {
    return tf.tidy(() => {
      const m = state.memory;
      const memory = m.memory ? { memory: m.memory as tf.Tensor3D, keys: (m.keys ?? m.memory) as tf.Tensor3D, bias: m.bias as tf.Tensor3D } : null;
      const y = this.targetEmbedding.apply(prevTokens) as tf.Tensor2D;
      const s = this.decoderStep(y, state.carry, memory, false);
      const logits = this.output.apply(s.out) as tf.Tensor2D;
      return s.weights ? { logits, carry: s.carry, attention: s.weights } : { logits, carry: s.carry };
    });
  }
}

