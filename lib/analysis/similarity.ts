// Comparing representations: linear CKA between layers and models, and how contextual a word's vectors are.
//
// Linear CKA (Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited", eq. 5 with a
// linear kernel). X: [n, p] and Y: [n, q] hold the SAME n examples (tokens or sentences) in two spaces. With
// columns centred,
//     CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F),
// a number in [0, 1]: 1 when Y is X up to an orthogonal transform and an isotropic scaling (the invariances a
// comparison of learned features needs — two runs of one model differ by exactly such rotations), near 0 for
// unrelated features. Unlike comparing weights, it works across widths and across model kinds.
//
// Self-similarity (Ethayarajh 2019, "How Contextual are Contextualized Word Representations?", §3): the mean
// cosine between one word's vectors in different sentences. A static embedding scores 1; the lower it is, the
// more the layer rewrites the word by its context. But vectors of a layer can all point one way (anisotropy),
// so cosines are high for ANY two tokens; the baseline is the mean cosine between random pairs of tokens of
// the same layer, and the adjusted score subtracts it (Ethayarajh §3.4).
import * as tf from "@tensorflow/tfjs";
import { Features, checkSameRows } from "./features";
import { Representations, checkLayer } from "./extract";
import { Rng } from "../random";

/**
 * Columns centred in float64 (removing the means first keeps float32 precise), then as a float32 tensor [n, p]:
 * the products below run as native matmuls.
 */
function centre(f: Features): tf.Tensor2D {
  const { rows, cols } = f;
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += f.data[i * cols + j];
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f.data[i * cols + j] - mean[j];
  return tf.tensor2d(data, [rows, cols]);
}

/** ‖XᵀY‖_F for centred X [n, p], Y [n, q] (a scalar tensor). */
const crossNorm = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar => tf.norm(tf.matMul(x, y, true, false)) as tf.Scalar;

function checkPair(x: Features, y: Features): void {
  checkSameRows(x, y, "linearCka's two representations");
  if (x.rows < 2) throw new Error(`linearCka needs at least 2 examples, got ${x.rows}.`);
}

/**
 * Linear CKA between two representations of the same n examples. x: [n, p], y: [n, q] -> a number in [0, 1].
 * Errors: different row counts, fewer than 2 rows, a representation that is constant over the examples.
 */
export function linearCka(x: Features, y: Features): number {
  return ckaMatrix([x], [y])[0][0];
}

/** CKA between every layer of a and every layer of b: [a.length][b.length] (each layer centred once). */
export function ckaMatrix(a: readonly Features[], b: readonly Features[]): number[][] {
  if (a.length === 0 || b.length === 0) throw new Error("ckaMatrix needs at least one layer on each side.");
  a.forEach((x) => b.forEach((y) => checkPair(x, y)));
  const values = tf.tidy(() => {
    const ca = a.map(centre);
    const cb = b.map((y) => ca[a.indexOf(y)] ?? centre(y));
    const selfA = ca.map((x) => crossNorm(x, x));
    const selfB = cb.map((y, j) => (ca.includes(y) ? selfA[ca.indexOf(y)] : crossNorm(y, y)));
    const norms = tf.stack([...selfA, ...selfB]).dataSync();
    if (norms.some((v) => v === 0)) {
      throw new Error("linearCka: one representation is the same vector for every example (zero variance), so similarity is undefined.");
    }
    const cross = tf.stack(ca.flatMap((x) => cb.map((y) => crossNorm(x, y)))).dataSync();
    return ca.map((_, i) => cb.map((_, j) => cross[i * cb.length + j] ** 2 / (norms[i] * norms[a.length + j])));
  });
  return values;
}

function cosine(u: Float32Array, v: Float32Array): number {
  let dot = 0;
  let nu = 0;
  let nv = 0;
  for (let i = 0; i < u.length; i++) (dot += u[i] * v[i]), (nu += u[i] * u[i]), (nv += v[i] * v[i]);
  return nu === 0 || nv === 0 ? 0 : dot / Math.sqrt(nu * nv);
}

export interface SelfSimilarityOptions {
  representations: Representations;
  /** Word ids to study (default: every word with at least minContexts sentences). */
  words?: number[];
  /** A word needs this many different sentences (default 5). */
  minContexts?: number;
  /** Use at most this many sentences per word (default 20), the first ones. */
  maxContexts?: number;
  /** Random token pairs per layer for the anisotropy baseline (default 2000). */
  baselinePairs?: number;
  seed?: number;
}

export interface SelfSimilarityLayer {
  layer: number;
  name: string;
  /** Mean over words of the mean pairwise cosine of each word's vectors in different sentences. */
  selfSimilarity: number;
  /** Mean cosine between random pairs of tokens of this layer (Ethayarajh's baseline). */
  anisotropy: number;
  /** selfSimilarity − anisotropy. */
  adjusted: number;
}

export interface SelfSimilarityResult {
  layers: SelfSimilarityLayer[];
  /** Per studied word: its id, how many sentences, and its self-similarity per layer. */
  words: { wordId: number; contexts: number; perLayer: number[] }[];
}

/** Self-similarity per layer with the anisotropy baseline (Ethayarajh 2019). Special prefix tokens are left out. */
export function selfSimilarity(opts: SelfSimilarityOptions): SelfSimilarityResult {
  const r = opts.representations;
  const minContexts = opts.minContexts ?? 5;
  const maxContexts = opts.maxContexts ?? 20;
  const pairs = opts.baselinePairs ?? 2000;
  if (!(Number.isInteger(minContexts) && minContexts >= 2)) throw new Error(`minContexts (${minContexts}) must be an integer >= 2.`);
  if (!(Number.isInteger(maxContexts) && maxContexts >= minContexts)) throw new Error(`maxContexts (${maxContexts}) must be an integer >= minContexts (${minContexts}).`);
  // The first occurrence of each word in each sentence: one vector per (word, sentence).
  const rowsOf = new Map<number, number[]>();
  const wordRows: number[] = [];
  r.sequences.forEach((seq, s) => {
    const seen = new Set<number>();
    for (let i = r.prefix; i < seq.length; i++) {
      wordRows.push(r.offsets[s] + i);
      if (seen.has(seq[i])) continue;
      seen.add(seq[i]);
      const list = rowsOf.get(seq[i]) ?? [];
      if (list.length < maxContexts) list.push(r.offsets[s] + i);
      rowsOf.set(seq[i], list);
    }
  });
  const candidates = opts.words ?? [...rowsOf.keys()];
  const studied = candidates.filter((w) => (rowsOf.get(w)?.length ?? 0) >= minContexts);
  if (studied.length === 0) {
    throw new Error(`no word occurs in ${minContexts} or more sentences: pass more sentences, other words, or a smaller minContexts.`);
  }
  if (wordRows.length < 2) throw new Error("selfSimilarity needs at least 2 word tokens for the anisotropy baseline.");
  const rng = new Rng(opts.seed ?? 0);
  const randomPairs = Array.from({ length: pairs }, () => {
    const a = rng.int(wordRows.length);
    let b = rng.int(wordRows.length - 1);
    if (b >= a) b++;
    return [wordRows[a], wordRows[b]];
  });
  const words = studied.map((w) => ({ wordId: w, contexts: rowsOf.get(w)!.length, perLayer: [] as number[] }));
  const layers = r.layerNames.map((name, l) => {
    checkLayer(r, l);
    const f = r.states[l];
    const row = (i: number) => f.data.subarray(i * f.cols, (i + 1) * f.cols);
    for (const w of words) {
      const rows = rowsOf.get(w.wordId)!;
      let sum = 0;
      let n = 0;
      for (let a = 0; a < rows.length; a++) for (let b = a + 1; b < rows.length; b++) (sum += cosine(row(rows[a]), row(rows[b]))), n++;
      w.perLayer.push(sum / n);
    }
    const self = words.reduce((s, w) => s + w.perLayer[l], 0) / words.length;
    const anisotropy = randomPairs.reduce((s, [a, b]) => s + cosine(row(a), row(b)), 0) / randomPairs.length;
    return { layer: l, name, selfSimilarity: self, anisotropy, adjusted: self - anisotropy };
  });
  return { layers, words };
}

/** CKA between every layer of two models (or one model twice), with the names a heatmap needs. */
export interface LayerComparison {
  rowModel: string;
  colModel: string;
  rowNames: string[];
  colNames: string[];
  /** cka[i][j]: layer i of the row model vs layer j of the column model. */
  cka: number[][];
}

/**
 * Linear CKA between every layer of `a` and every layer of `b`, over every real token. Both must have read the
 * same token sequences (same sentences through models with the same input format, e.g. BERT and ELECTRA, or
 * one model before and after fine-tuning); otherwise the rows would pair different tokens, and it throws.
 */
export function compareLayers(a: Representations, b: Representations): LayerComparison {
  const same = a.sequences.length === b.sequences.length &&
    a.sequences.every((s, i) => s.length === b.sequences[i].length && s.every((id, j) => id === b.sequences[i][j]));
  if (!same) {
    throw new Error(
      `compareLayers: ${a.model} and ${b.model} read different token sequences: extract both from the same sentences ` +
        "with the same input format ([CLS] or not, same maxLen).",
    );
  }
  return { rowModel: a.model, colModel: b.model, rowNames: [...a.layerNames], colNames: [...b.layerNames], cka: ckaMatrix(a.states, b.states) };
}

/** The diagonal of several layer comparisons side by side: one row per layer, one column per comparison. */
export function sameLayerCka(comparisons: Record<string, LayerComparison>): Record<string, string | number>[] {
  const entries = Object.entries(comparisons);
  if (entries.length === 0) throw new Error("sameLayerCka got no comparisons: pass { name: compareLayers(a, b), ... }.");
  const layers = Math.min(...entries.map(([, c]) => Math.min(c.rowNames.length, c.colNames.length)));
  return Array.from({ length: layers }, (_, l) => ({ layer: entries[0][1].rowNames[l], ...Object.fromEntries(entries.map(([name, c]) => [name, c.cka[l][l]])) }));
}

/** Self-similarity results as table rows: model, layer, self-similarity, random pairs, adjusted. */
export function selfSimilarityRows(results: Record<string, SelfSimilarityResult>): Record<string, string | number>[] {
  return Object.entries(results).flatMap(([model, res]) =>
    res.layers.map((l) => ({ model, layer: l.name, "self-similarity": l.selfSimilarity, "random pairs": l.anisotropy, "adjusted (difference)": l.adjusted })));
}
