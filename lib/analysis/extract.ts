// Hidden states and attention maps from every model of the course, through ONE interface.
//
// Analysis asks the same questions of an RNN, a CNN, a transformer classifier, ELECTRA's discriminator and
// generator, and BERT: what does layer l hold, where does head h look? Each kind of model gets a small adapter
// (a RepresentationSource) that runs it without dropout and returns, per batch,
//   hiddenStates: layers + 1 tensors [batch, time, width_l], index 0 = the embeddings (what layer 1 reads),
//   attentions:   one [batch, heads, time, time] per attention layer (transformers only), rows = queries.
// `extractRepresentations` batches sentences through a source, cuts the padding away and returns plain data
// (Features, one row per real token) that outlives every tensor — so no later statistic can see padding.
import * as tf from "@tensorflow/tfjs";
import { TransformerEncoder } from "../nn/transformer";
import { Embedding } from "../nn/layers";
import { RnnEncoder } from "../nn/rnn";
import { RnnClassifier } from "../models/rnn_classifier";
import { CnnClassifier } from "../models/cnn_classifier";
import { TransformerClassifier, withCls } from "../models/transformer_classifier";
import { ElectraModel } from "../models/electra";
import { RnnSeq2Seq } from "../models/seq2seq/rnn_seq2seq";
import { padIds } from "../data/batching";
import { CLS_ID } from "../data/vocab";
import { throwIfInterrupted } from "../interrupt";
import { Features } from "./features";

/** What a model returns for one batch: per-layer states (index 0 = embeddings) and, if asked, attention maps. */
export interface LayerOutputs {
  /** layers + 1 entries of [batch, time, width_l]. */
  hiddenStates: tf.Tensor3D[];
  /** One [batch, heads, time, time] per attention layer (absent for RNNs and CNNs). */
  attentions?: tf.Tensor4D[];
}

/** The adapter every model kind provides. Write one for a new model (e.g. a transformer seq2seq encoder) and all of lib/analysis works on it. */
export interface RepresentationSource {
  /** Shown in tables and plots ("BERT", "ELECTRA discriminator"). */
  readonly name: string;
  readonly kind: "rnn" | "cnn" | "transformer";
  /** Names of the hidden-state layers: index 0 is "embeddings". */
  readonly layerNames: readonly string[];
  /** Number of attention layers (0 for RNN/CNN). */
  readonly attentionLayers: number;
  /** Ids must lie in [0, vocabSize). */
  readonly vocabSize: number;
  /** How many special tokens `prepare` puts in front of the words (1 for [CLS]). */
  readonly prefix: number;
  /** A sentence's word ids -> the sequence the model reads ([CLS] in front, truncated to maxLen, ...). */
  prepare(ids: readonly number[]): number[];
  /** ids [batch, time] int32, mask [batch, time] (1 = real, 0 = padding) -> states (+ maps). No dropout. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, opts: { attention: boolean }): LayerOutputs;
}

/** Which part of an ELECTRA model: the discriminator ("main"; BERT's encoder for objective "bert") or the generator. */
export type ElectraPart = "main" | "generator";

export interface SourceOptions {
  /** Display name (default: from the model kind). */
  name?: string;
  /** ELECTRA only: "main" (default) or "generator". */
  part?: ElectraPart;
  /** A bare TransformerEncoder only: prepend [CLS] (default true) and truncate to maxLen (default the encoder's). */
  addCls?: boolean;
  maxLen?: number;
}

/** Any model lib/analysis can read (a seq2seq model: its encoder, reading source ids). */
export type AnalysableModel = RepresentationSource | TransformerEncoder | TransformerClassifier | ElectraModel | RnnClassifier | CnnClassifier | RnnSeq2Seq;

function isSource(m: unknown): m is RepresentationSource {
  return typeof (m as RepresentationSource)?.forward === "function" && Array.isArray((m as RepresentationSource).layerNames);
}

/**
 * A transformer stack as a source: hidden states from `returnHiddenStates`, attention probabilities (the softmax
 * rows, before dropout) from `returnAttention`. With pre-LN the last entry is replaced by the output after the
 * final LayerNorm, which is what any head reads.
 */
export function transformerSource(
  encoder: TransformerEncoder,
  opts: { name: string; prepare: (ids: readonly number[]) => number[]; prefix: number },
): RepresentationSource {
  const layers = encoder.blocks.length;
  return {
    name: opts.name,
    kind: "transformer",
    layerNames: ["embeddings", ...Array.from({ length: layers }, (_, i) => `layer ${i + 1}`)],
    attentionLayers: layers,
    vocabSize: encoder.vocabSize,
    prefix: opts.prefix,
    prepare: opts.prepare,
    forward: (ids, mask, { attention }) =>
      tf.tidy(() => {
        const r = encoder.apply(ids, { mask01: mask, training: false, returnHiddenStates: true, returnAttention: attention });
        const states = r.hiddenStates!;
        if (encoder.finalNorm) states[states.length - 1] = r.hidden;
        return attention ? { hiddenStates: states, attentions: r.attentions! } : { hiddenStates: states };
      }),
  };
}

function truncate(maxLen: number) {
  return (ids: readonly number[]) => ids.slice(0, maxLen);
}

/** The adapter for any model of the course (or the source itself, passed through). */
export function representationSource(model: AnalysableModel, opts: SourceOptions = {}): RepresentationSource {
  if (isSource(model)) return model;
  if (opts.part !== undefined && !(model instanceof ElectraModel)) {
    throw new Error(`part "${opts.part}" applies to an ElectraModel only; this is a ${model?.constructor?.name}.`);
  }
  if (model instanceof ElectraModel) {
    const part = opts.part ?? "main";
    if (part !== "main" && part !== "generator") throw new Error(`part "${part}" is unknown: use "main" or "generator".`);
    const bert = model.objective === "bert";
    if (part === "generator" && !model.generator) {
      throw new Error(`objective "${model.objective}" has no generator: use part "main" (BERT's encoder).`);
    }
    const encoder = part === "main" ? model.main : model.generator!;
    const name = opts.name ?? (bert ? "BERT" : part === "main" ? "ELECTRA discriminator" : "ELECTRA generator");
    return transformerSource(encoder, { name, prepare: (ids) => model.prepare(ids), prefix: model.cfg.addCls ? 1 : 0 });
  }
  if (model instanceof TransformerClassifier) {
    const cls = model.pooling === "cls";
    return transformerSource(model.encoder, {
      name: opts.name ?? "transformer classifier",
      prepare: cls ? (ids) => withCls(ids, model.maxLen) : truncate(model.maxLen),
      prefix: cls ? 1 : 0,
    });
  }
  if (model instanceof TransformerEncoder) {
    const addCls = opts.addCls ?? true;
    const maxLen = opts.maxLen ?? model.maxLen;
    return transformerSource(model, {
      name: opts.name ?? "transformer encoder",
      prepare: addCls ? (ids) => [CLS_ID, ...ids.slice(0, maxLen - 1)] : truncate(maxLen),
      prefix: addCls ? 1 : 0,
    });
  }
  if (model instanceof RnnSeq2Seq) {
    // Sources are read as they are (collateSeq2Seq adds no specials to them), truncated to maxSourceLen.
    return rnnEncoderSource({ name: opts.name ?? "RNN seq2seq encoder", embedding: model.sourceEmbedding, encoder: model.encoder, maxLen: model.maxSourceLen });
  }
  if (model instanceof RnnClassifier || model instanceof CnnClassifier) {
    const rnn = model instanceof RnnClassifier;
    const cfg = model.config() as { vocabSize: number; layers?: number };
    const blocks = Array.from({ length: cfg.layers ?? 1 }, (_, i) => `${rnn ? "RNN" : "conv"} ${i + 1}`);
    return {
      name: opts.name ?? (rnn ? "RNN classifier" : "CNN classifier"),
      kind: rnn ? "rnn" : "cnn",
      layerNames: ["embeddings", ...blocks],
      attentionLayers: 0,
      vocabSize: cfg.vocabSize,
      prefix: 0,
      prepare: truncate(model.maxLen),
      forward: (ids, mask) => ({ hiddenStates: model.hiddenStates(ids, mask) }),
    };
  }
  throw new Error(
    `representationSource does not know ${(model as object)?.constructor?.name ?? typeof model}: pass a TransformerEncoder, ` +
      "TransformerClassifier, ElectraModel, RnnClassifier, CnnClassifier, RnnSeq2Seq, or write a RepresentationSource for it.",
  );
}

/**
 * An embedding table read by a (stacked, bidirectional) RnnEncoder, as a source: the RNN seq2seq encoder
 * (sourceEmbedding + encoder) or any model built that way. Layer 0 = the embeddings, layer k = RNN layer k.
 */
export function rnnEncoderSource(o: { name: string; embedding: Embedding; encoder: RnnEncoder; maxLen: number }): RepresentationSource {
  return {
    name: o.name,
    kind: "rnn",
    layerNames: ["embeddings", ...Array.from({ length: o.encoder.numLayers }, (_, i) => `RNN ${i + 1}`)],
    attentionLayers: 0,
    vocabSize: o.embedding.vocabSize,
    prefix: 0,
    prepare: truncate(o.maxLen),
    forward: (ids, mask) =>
      tf.tidy(() => {
        const x = o.embedding.apply(ids) as tf.Tensor3D;
        return { hiddenStates: [x, ...o.encoder.encode(x, mask, { layerOutputs: true }).layerOutputs!] };
      }),
  };
}

/** Per-layer attention maps of every sentence, padding removed. */
export interface AttentionMaps {
  heads: number;
  /** maps[l][s]: attention layer l+1 of sentence s, [heads, len_s, len_s] row-major (rows = queries, each sums to 1). */
  maps: Float32Array[][];
}

/** What extraction returns: plain data, one row per real token. */
export interface Representations {
  model: string;
  kind: RepresentationSource["kind"];
  layerNames: string[];
  /** Special tokens in front of each sequence (1 = [CLS]); word i of a sentence sits at position prefix + i. */
  prefix: number;
  /** The ids each sentence was read as (after prepare). */
  sequences: number[][];
  /** offsets[s]: the row of sentence s's first token in every layer's Features; its rows are offsets[s] .. + len_s. */
  offsets: number[];
  /** One Features [total real tokens, width_l] per layer (index 0 = embeddings). */
  states: Features[];
  /** With `attention: true` and a transformer. */
  attentions?: AttentionMaps;
}

export interface ExtractOptions {
  /** Any model of the course (or a RepresentationSource). */
  model: AnalysableModel;
  /** Word ids per sentence (encoded with the model's Vocab; no [CLS], the source adds what the model expects). */
  sentences: readonly (readonly number[])[];
  /** Sentences per forward pass (default 32). Results do not depend on it: padding is masked and cut away. */
  batchSize?: number;
  /** Also return attention maps (transformers; default false). */
  attention?: boolean;
  /** Passed to representationSource (name, ELECTRA part, ...). */
  source?: SourceOptions;
  /**
   * The sentences are already what the model reads ([CLS] included, e.g. ELECTRA's corrupted inputs from
   * `explain`): skip `prepare` (default false).
   */
  prepared?: boolean;
}

/**
 * Run every sentence through the model (no dropout) and keep each layer's state at every real token.
 * Sentences are batched by length to save padding; the output keeps the input order.
 * Errors: no sentences, an empty sentence, an id outside the vocabulary, attention asked of an RNN/CNN.
 */
export function extractRepresentations(opts: ExtractOptions): Representations {
  const source = representationSource(opts.model, opts.source);
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize (${batchSize}) must be a positive integer, e.g. 32.`);
  if (!Array.isArray(opts.sentences) || opts.sentences.length === 0) throw new Error("extractRepresentations got no sentences: pass at least one list of word ids.");
  const attention = opts.attention ?? false;
  if (attention && source.attentionLayers === 0) {
    throw new Error(`${source.name} has no attention layers (a ${source.kind}): leave attention out, or pass a transformer.`);
  }
  const sequences = opts.sentences.map((s, i) => {
    if (!Array.isArray(s) || s.length === 0) throw new Error(`sentence ${i} is empty: every sentence needs at least one word id.`);
    const seq = opts.prepared ? [...s] : source.prepare(s);
    const bad = seq.find((id) => !(Number.isInteger(id) && id >= 0 && id < source.vocabSize));
    if (bad !== undefined) throw new Error(`sentence ${i} has id ${bad}, outside the model's vocabulary 0..${source.vocabSize - 1}: encode it with the model's Vocab.`);
    return seq;
  });
  const offsets: number[] = [];
  let total = 0;
  for (const s of sequences) (offsets.push(total), (total += s.length));
  const layers = source.layerNames.length;
  const states: (Features & { data: Float32Array })[] = [];
  const maps: Float32Array[][] = Array.from({ length: attention ? source.attentionLayers : 0 }, () => new Array(sequences.length));
  let heads = 0;
  // Similar lengths together (less padding); the result is indexed by the original order.
  const order = sequences.map((_, i) => i).sort((a, b) => sequences[a].length - sequences[b].length);
  for (let start = 0; start < order.length; start += batchSize) {
    throwIfInterrupted("extracting representations");
    const group = order.slice(start, start + batchSize);
    const { ids, mask, length: t } = padIds(group.map((i) => sequences[i]));
    const b = group.length;
    const [stateData, mapData] = tf.tidy(() => {
      const out = source.forward(tf.tensor2d(ids.flat(), [b, t], "int32"), tf.tensor2d(mask.flat(), [b, t], "float32"), { attention });
      if (out.hiddenStates.length !== layers) throw new Error(`${source.name} returned ${out.hiddenStates.length} layers of states; its layerNames say ${layers}.`);
      return [out.hiddenStates.map((h) => h.dataSync() as Float32Array), (out.attentions ?? []).map((a) => ({ shape: a.shape, data: a.dataSync() as Float32Array }))];
    });
    if (states.length === 0) {
      stateData.forEach((d) => {
        const cols = d.length / (b * t);
        states.push({ rows: total, cols, data: new Float32Array(total * cols) });
      });
    }
    group.forEach((s, k) => {
      const len = sequences[s].length;
      stateData.forEach((d, l) => {
        const w = states[l].cols;
        states[l].data.set(d.subarray(k * t * w, (k * t + len) * w), offsets[s] * w);
      });
      mapData.forEach(({ shape, data }, l) => {
        heads = shape[1];
        const m = new Float32Array(heads * len * len);
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < len; i++) {
            const from = ((k * heads + h) * t + i) * t;
            m.set(data.subarray(from, from + len), (h * len + i) * len);
          }
        }
        maps[l][s] = m;
      });
    });
  }
  const result: Representations = {
    model: source.name, kind: source.kind, layerNames: [...source.layerNames], prefix: source.prefix, sequences, offsets, states,
  };
  if (attention) result.attentions = { heads, maps };
  return result;
}

/** Throw unless `layer` is a hidden-state layer of r (0 = embeddings). */
export function checkLayer(r: Representations, layer: number): void {
  const n = r.layerNames.length;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < n)) {
    throw new Error(`layer ${layer} is out of range for ${r.model}: it has layers 0..${n - 1} (0 = embeddings, ${n - 1} = last).`);
  }
}

/** One layer's token states [real tokens, width]. */
export function layerStates(r: Representations, layer: number): Features {
  checkLayer(r, layer);
  return r.states[layer];
}

/** Attention layer `layer` (1-based, as block `layer`) of sentence `sentence`: [heads][query][key] as arrays. */
export function attentionOf(r: Representations, opts: { layer: number; sentence: number }): number[][][] {
  if (!r.attentions) throw new Error(`${r.model}'s representations hold no attention maps: extract them with attention: true.`);
  const layers = r.attentions.maps.length;
  if (!(Number.isInteger(opts.layer) && opts.layer >= 1 && opts.layer <= layers)) {
    throw new Error(`attention layer ${opts.layer} is out of range for ${r.model}: use 1..${layers}.`);
  }
  if (!(Number.isInteger(opts.sentence) && opts.sentence >= 0 && opts.sentence < r.sequences.length)) {
    throw new Error(`sentence ${opts.sentence} is out of range: use 0..${r.sequences.length - 1}.`);
  }
  const m = r.attentions.maps[opts.layer - 1][opts.sentence];
  const len = r.sequences[opts.sentence].length;
  return Array.from({ length: r.attentions.heads }, (_, h) =>
    Array.from({ length: len }, (_, i) => Array.from(m.subarray((h * len + i) * len, (h * len + i + 1) * len))));
}
