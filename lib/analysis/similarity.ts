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
import { Features, checkSameRows } from "./features";
import { Representations, checkLayer } from "./extract";
import { Rng } from "../random";

/** XᵀY of column-centred X [n, p] and Y [n, q] as a float64 [p·q] row-major array. */
function centredCross(x: Features, mx: Float64Array, y: Features, my: Float64Array): Float64Array {
  const { rows: n, cols: p } = x;
  const q = y.cols;
  const out = new Float64Array(p * q);
  const xr = new Float64Array(p);
  const yr = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < p; a++) xr[a] = x.data[i * p + a] - mx[a];
    for (let b = 0; b < q; b++) yr[b] = y.data[i * q + b] - my[b];
    for (let a = 0; a < p; a++) {
      const v = xr[a];
      if (v === 0) continue;
      const o = a * q;
      for (let b = 0; b < q; b++) out[o + b] += v * yr[b];
    }
  }
  return out;
}

function columnMeans(f: Features): Float64Array {
  const m = new Float64Array(f.cols);
  for (let i = 0; i < f.rows; i++) for (let j = 0; j < f.cols; j++) m[j] += f.data[i * f.cols + j];
  return m.map((v) => v / f.rows);
}

const squaredNorm = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);

/**
 * Linear CKA between two representations of the same n examples. x: [n, p], y: [n, q] -> a number in [0, 1].
 * Errors: different row counts, fewer than 2 rows, a representation that is constant over the examples.
 */
export function linearCka(x: Features, y: Features): number {
  checkSameRows(x, y, "linearCka's two representations");
  if (x.rows < 2) throw new Error(`linearCka needs at least 2 examples, got ${x.rows}.`);
  const mx = columnMeans(x);
  const my = columnMeans(y);
  const xy = squaredNorm(centredCross(x, mx, y, my));
  const xx = Math.sqrt(squaredNorm(centredCross(x, mx, x, mx)));
  const yy = Math.sqrt(squaredNorm(centredCross(y, my, y, my)));
  if (xx === 0 || yy === 0) {
    throw new Error("linearCka: one representation is the same vector for every example (zero variance), so similarity is undefined.");
  }
  return xy / (xx * yy);
}

/** CKA between every layer of a and every layer of b: [a.length][b.length]. */
export function ckaMatrix(a: readonly Features[], b: readonly Features[]): number[][] {
  if (a.length === 0 || b.length === 0) throw new Error("ckaMatrix needs at least one layer on each side.");
  return a.map((x) => b.map((y) => linearCka(x, y)));
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
