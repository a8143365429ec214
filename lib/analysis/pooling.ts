// From token states to what an analysis compares: one vector per sentence (pooling), or the vectors of the
// tokens a question is about (token selection with labels). Both read only real tokens.
import { Features } from "./features";
import { Representations, checkLayer } from "./extract";

/**
 * How a sentence becomes one vector:
 *   "mean"  — average over the sentence's words (special prefix tokens such as [CLS] left out);
 *   "first" — the state at position 0 ([CLS] for BERT/ELECTRA: what their classifiers read);
 *   "last"  — the state at the last token (a left-to-right RNN's summary).
 */
export type Pooling = "mean" | "first" | "last";
export const POOLINGS: readonly Pooling[] = ["mean", "first", "last"];

/** One vector per sentence from layer `layer`: [sentences, width]. */
export function sentenceVectors(r: Representations, opts: { layer: number; pooling?: Pooling }): Features {
  checkLayer(r, opts.layer);
  const pooling = opts.pooling ?? "mean";
  if (!POOLINGS.includes(pooling)) throw new Error(`pooling "${pooling}" is unknown: use one of ${POOLINGS.join(", ")}.`);
  const f = r.states[opts.layer];
  const w = f.cols;
  const out = new Float32Array(r.sequences.length * w);
  r.sequences.forEach((seq, s) => {
    const o = r.offsets[s];
    if (pooling === "first" || pooling === "last") {
      const row = o + (pooling === "first" ? 0 : seq.length - 1);
      out.set(f.data.subarray(row * w, (row + 1) * w), s * w);
      return;
    }
    // Words only, unless the sentence is nothing but its prefix.
    const from = seq.length > r.prefix ? r.prefix : 0;
    const n = seq.length - from;
    for (let i = from; i < seq.length; i++) {
      const row = (o + i) * w;
      for (let j = 0; j < w; j++) out[s * w + j] += f.data[row + j] / n;
    }
  });
  return { rows: r.sequences.length, cols: w, data: out };
}

/**
 * A token-level question: the label of word i of sentence `sentence` (words = its sequence without the special
 * prefix), or null to leave the token out (e.g. words outside a top-k list).
 */
export type TokenLabeler = (words: readonly number[], i: number, sentence: number) => number | null;

/** The tokens a labeler keeps, where they are, and their labels (same order as the rows of tokenFeatures). */
export interface TokenSelection {
  /** Rows into the layer Features (so every layer is selected the same way). */
  rows: number[];
  sentence: number[];
  /** Word index within the sentence (0 = first word after the prefix). */
  word: number[];
  /** The word id at each selected token (the "type" of Hewitt & Liang's control tasks). */
  wordId: number[];
  labels: number[];
}

/** Apply a labeler to every word of every sentence. */
export function selectTokens(r: Representations, labeler: TokenLabeler): TokenSelection {
  const sel: TokenSelection = { rows: [], sentence: [], word: [], wordId: [], labels: [] };
  r.sequences.forEach((seq, s) => {
    const words = seq.slice(r.prefix);
    for (let i = 0; i < words.length; i++) {
      const y = labeler(words, i, s);
      if (y === null) continue;
      if (!Number.isInteger(y) || y < 0) throw new Error(`the labeler gave ${y} for sentence ${s}, word ${i}: labels must be integers >= 0 (or null to skip).`);
      sel.rows.push(r.offsets[s] + r.prefix + i);
      sel.sentence.push(s);
      sel.word.push(i);
      sel.wordId.push(words[i]);
      sel.labels.push(y);
    }
  });
  if (sel.rows.length === 0) throw new Error("the labeler kept no token: check it returns labels (not null) for some words.");
  return sel;
}

/** The selected tokens' states at `layer`: [selected tokens, width]. */
export function tokenFeatures(r: Representations, sel: TokenSelection, layer: number): Features {
  checkLayer(r, layer);
  const f = r.states[layer];
  const w = f.cols;
  const data = new Float32Array(sel.rows.length * w);
  sel.rows.forEach((row, k) => data.set(f.data.subarray(row * w, (row + 1) * w), k * w));
  return { rows: sel.rows.length, cols: w, data };
}
