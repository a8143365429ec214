// The hand-sized experiments of notebook 03 (self-attention), sections 1, 2, 3 and 7: how many steps separate
// two tokens in an RNN, a CNN and self-attention; a six-word sentence with hand-made features and queries; the
// multi-head attention computation written out step by step; and the trained encoder's attention on a sentence.
// The XOR experiments of sections 4–5 live in lib/tasks/token_tagging.ts, their views in lib/viz/.
import * as tf from "@tensorflow/tfjs";
import { receptiveField } from "../nn/conv";
import { MultiHeadAttention, scaledDotProductAttention, splitHeads, mergeHeads } from "../nn/attention";
import type { TransformerEncoder } from "../nn/transformer";

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

// --- section 1: path lengths ----------------------------------------------------------------------------------

export interface LayersToConnectOptions {
  /** Tokens apart (k ≥ 1). */
  distance: number;
  /** Convolution kernel width (default 3). */
  kernel?: number;
  /** Dilation growth per layer: 1 = none, 2 = doubling (default 1). */
  dilationGrowth?: number;
}

/**
 * Layers of a stacked CNN until one position's view spans two tokens `distance` apart: the smallest L whose
 * receptive field (lib/nn/conv.ts) covers distance + 1 tokens. Vaswani et al. 2017, Table 1, "maximum path
 * length": O(n/k) for a plain CNN, O(log_k n) with dilations, O(1) for self-attention.
 */
export function layersToConnect(opts: LayersToConnectOptions): number {
  const { distance, kernel = 3, dilationGrowth = 1 } = opts;
  if (!isPositiveInt(distance)) throw new Error(`layersToConnect distance (${distance}) must be a positive integer: tokens apart.`);
  if (!(isPositiveInt(kernel) && kernel >= 2)) throw new Error(`layersToConnect kernel (${kernel}) must be an integer >= 2: a kernel of 1 never widens its view.`);
  if (!isPositiveInt(dilationGrowth)) throw new Error(`layersToConnect dilationGrowth (${dilationGrowth}) must be a positive integer (1 = no dilation, 2 = doubling).`);
  let layers = 1;
  while (receptiveField({ kernel, layers, dilationGrowth }) < distance + 1) layers++;
  return layers;
}

export interface PathLengthRow {
  distance: number;
  /** RNN: one sequential step per token. */
  rnn: number;
  /** CNN layers, no dilation. */
  cnn: number;
  /** CNN layers, dilation doubling per layer. */
  dilatedCnn: number;
  /** Self-attention: every token meets every token in one layer. */
  attention: number;
}

/** Steps (RNN) or layers (CNN, dilated CNN, self-attention) between two tokens, for each distance (Vaswani et al. 2017, Table 1). */
export function pathLengths(opts: { distances?: number[]; kernel?: number } = {}): PathLengthRow[] {
  const { distances = [1, 2, 4, 8, 16, 32, 64], kernel = 3 } = opts;
  if (!Array.isArray(distances) || distances.length === 0) throw new Error("pathLengths distances must be a non-empty array of positive integers.");
  return distances.map((k) => ({
    distance: k,
    rnn: k,
    cnn: layersToConnect({ distance: k, kernel, dilationGrowth: 1 }),
    dilatedCnn: layersToConnect({ distance: k, kernel, dilationGrowth: 2 }),
    attention: 1,
  }));
}

// --- section 2: attention by hand ------------------------------------------------------------------------------

export interface HandExample {
  words: string[];
  featureNames: string[];
  /** X: [time 6, features 5], one row per word, one-hot parts of speech plus "animate". */
  features: number[][];
  /** W_q: [features, features]; row = the word's own feature, column = the feature its query looks for. */
  queryWeights: number[][];
}

/**
 * "the cat sat on the mat" with five made-up features per word, and a hand-made query projection in which a
 * verb looks for an animate noun (its subject), and a determiner and a preposition look for a noun. The ×3
 * sharpens the softmax.
 */
export function catSatOnTheMat(): HandExample {
  const words = ["the", "cat", "sat", "on", "the", "mat"];
  const featureNames = ["det", "noun", "verb", "prep", "animate"];
  const lexicon: Record<string, number[]> = {
    the: [1, 0, 0, 0, 0],
    cat: [0, 1, 0, 0, 1],
    sat: [0, 0, 1, 0, 0],
    on: [0, 0, 0, 1, 0],
    mat: [0, 1, 0, 0, 0],
  };
  const queryWeights = [
    [0, 3, 0, 0, 0], // det  -> a noun
    [0, 0, 0, 0, 0], // noun -> nothing in particular
    [0, 3, 0, 0, 3], // verb -> an animate noun
    [0, 3, 0, 0, 0], // prep -> a noun
    [0, 0, 0, 0, 0], // animate
  ];
  return { words, featureNames, features: words.map((w) => lexicon[w]), queryWeights };
}

export interface AttentionRowsOptions {
  /** [queries, keys] attention weights. */
  weights: number[][];
  /** One label per query row, for the error message. */
  labels: string[];
  /** Largest allowed |row sum − 1| (default 1e-5). */
  tolerance?: number;
}

/** Throws unless every query's weights sum to 1 (a softmax over keys, Vaswani et al. 2017 eq. 1). */
export function checkAttentionRows(opts: AttentionRowsOptions): void {
  const { weights, labels, tolerance = 1e-5 } = opts;
  if (!Array.isArray(weights) || weights.length !== labels?.length) {
    throw new Error(`checkAttentionRows got ${weights?.length} rows of weights for ${labels?.length} labels: pass one label per query row.`);
  }
  weights.forEach((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > tolerance) throw new Error(`weights of ${labels[i]} sum to ${sum}, not 1`);
  });
}

/** The key a query attends to most: `keys[argmax(weights[query])]`. */
export function mostAttended(opts: { weights: number[][]; keys: string[]; query: number }): string {
  const { weights, keys, query } = opts;
  if (!(Number.isInteger(query) && query >= 0 && query < weights.length)) throw new Error(`mostAttended query (${query}) is out of range: use 0..${weights.length - 1}.`);
  const row = weights[query];
  if (row.length !== keys.length) throw new Error(`mostAttended got ${row.length} weights for ${keys.length} keys: pass one key label per column.`);
  return keys[row.indexOf(Math.max(...row))];
}

// --- section 3: multi-head attention, step by step ---------------------------------------------------------------

export type WalkthroughStep = {
  step: string;
  shape: string;
  meaning: string;
};

export interface MultiHeadWalkthrough {
  steps: WalkthroughStep[];
  /** max |splitHeads(split(x·wQkv + bQkv)) − mha.qkv(x).q|: our chunking against the library's. */
  chunkDiff: number;
  /** max |output(mergeHeads(attention)) − mha.apply(x)|. */
  outDiff: number;
}

const shapeOf = (t: tf.Tensor) => `[${t.shape.join(", ")}]`;

/**
 * The steps of `mha.apply(x)` written out so that every shape can be printed (Vaswani et al. 2017 §3.2.2):
 * x [batch, time, width] · wQkv [width, 3·width] → Q | K | V side by side → splitHeads → [batch, heads, time,
 * width/heads] → scaled dot-product attention → mergeHeads → output projection [batch, time, width]. Returns the
 * shapes and how far the hand computation is from MultiHeadAttention's own; disposes everything it made.
 */
export function multiHeadWalkthrough(opts: { mha: MultiHeadAttention; x: tf.Tensor3D }): MultiHeadWalkthrough {
  const { mha, x } = opts;
  if (!(mha instanceof MultiHeadAttention)) throw new Error("multiHeadWalkthrough mha must be a MultiHeadAttention: construct one with new MultiHeadAttention({ width, heads }).");
  if (!(x instanceof tf.Tensor) || x.rank !== 3) throw new Error(`multiHeadWalkthrough x must be a [batch, time, width] tensor, got shape [${(x as tf.Tensor | undefined)?.shape ?? ""}].`);
  const [batch, time, width] = x.shape;
  if (width !== mha.wQkv.shape[0]) throw new Error(`multiHeadWalkthrough x has width ${width} but mha has width ${mha.wQkv.shape[0]}: make them equal.`);
  const heads = mha.heads;
  let result: MultiHeadWalkthrough | undefined;
  tf.tidy(() => {
    const fused = tf.add(tf.matMul(x.reshape([batch * time, width]), mha.wQkv), mha.bQkv).reshape([batch, time, 3 * width]);
    const [qPart] = tf.split(fused, 3, 2);
    const qHeads = splitHeads(qPart, heads);
    const { q, k, v } = mha.qkv(x);
    const att = scaledDotProductAttention(q, k, v);
    const merged = mergeHeads(att.output);
    const out = mha.apply(x).output;
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const steps: WalkthroughStep[] = [
      { step: "input x", shape: shapeOf(x), meaning: "[batch, time, width]" },
      { step: "weight wQkv", shape: shapeOf(mha.wQkv), meaning: "[width, 3·width]: the ONE input matrix" },
      { step: "x · wQkv + bQkv", shape: shapeOf(fused), meaning: "Q, K and V side by side, one matmul" },
      { step: "split in 3 → Q", shape: shapeOf(qPart), meaning: "K and V alike" },
      { step: `splitHeads(Q, ${heads})`, shape: shapeOf(qHeads), meaning: "reshape [b, t, heads, d/heads], move heads first" },
      { step: "attention weights", shape: shapeOf(att.weights), meaning: "one t×t map per head" },
      { step: "attention output", shape: shapeOf(att.output), meaning: "per head: weighted average of its values" },
      { step: "mergeHeads", shape: shapeOf(merged), meaning: "heads side by side again" },
      { step: "output projection", shape: shapeOf(out), meaning: "mixes the heads: [width, width]" },
    ];
    result = { steps, chunkDiff: maxDiff(qHeads, q), outDiff: maxDiff(mha.output.apply(merged), out) };
  });
  return result!;
}

/** Column labels of wQkv [width, 3·width]: "Q h0.0" … "V h{heads−1}.{width/heads−1}" (part, head, index in head). */
export function fusedColumnNames(opts: { width: number; heads: number }): string[] {
  const { width, heads } = opts;
  if (!isPositiveInt(width) || !isPositiveInt(heads) || width % heads !== 0) {
    throw new Error(`fusedColumnNames heads (${heads}) must divide width (${width}), both positive integers.`);
  }
  const per = width / heads;
  return Array.from({ length: 3 * width }, (_, c) => `${["Q", "K", "V"][Math.floor(c / width)]} h${Math.floor((c % width) / per)}.${c % per}`);
}

// --- section 7: attention maps of a trained encoder ------------------------------------------------------------

/** Indices of the first `count` sentences with minLength..maxLength ids (short enough to read as a map). */
export function shortSentences(opts: { sentences: { ids: number[] }[]; minLength?: number; maxLength?: number; count?: number }): number[] {
  const { sentences, minLength = 7, maxLength = 12, count = 2 } = opts;
  if (!(isPositiveInt(minLength) && isPositiveInt(maxLength) && minLength <= maxLength)) {
    throw new Error(`shortSentences needs 1 <= minLength (${minLength}) <= maxLength (${maxLength}).`);
  }
  if (!isPositiveInt(count)) throw new Error(`shortSentences count (${count}) must be a positive integer.`);
  return sentences
    .map((x, i) => ({ i, n: x.ids.length }))
    .filter((x) => x.n >= minLength && x.n <= maxLength)
    .slice(0, count)
    .map((x) => x.i);
}

/**
 * One layer's attention weights on one sentence: [heads, time, time] (rows = queries, columns = keys), from
 * `encoder.apply(ids, { returnAttention: true })`. `layer` defaults to the last; negative counts from the end.
 */
export function encoderAttention(opts: { encoder: TransformerEncoder; ids: number[]; layer?: number }): number[][][] {
  const { encoder, ids, layer = -1 } = opts;
  if (!Array.isArray(ids) || ids.length === 0) throw new Error("encoderAttention ids must be a non-empty array of token ids: one sentence.");
  const idsTensor = tf.tensor2d([ids], [1, ids.length], "int32");
  const r = encoder.apply(idsTensor, { returnAttention: true });
  const attentions = r.attentions ?? [];
  try {
    const n = attentions.length;
    const l = layer < 0 ? n + layer : layer;
    if (!(Number.isInteger(layer) && l >= 0 && l < n)) throw new Error(`encoderAttention layer (${layer}) is out of range: the encoder has ${n} layers (use 0..${n - 1} or -1 for the last).`);
    return attentions[l].arraySync()[0];
  } finally {
    [idsTensor, r.hidden, ...attentions].forEach((x) => x.dispose());
  }
}
