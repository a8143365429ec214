// Packing text into full windows for pre-training (RoBERTa's "FULL-SENTENCES", Liu et al. 2019, §4.2).
//
// Reviews and paragraphs have every length; padded one per row, most of each batch would be [PAD], which costs
// compute and teaches nothing. Packing concatenates the documents into one stream of token ids, a separator
// ([SEP]) between documents, and cuts the stream into windows of exactly `length` tokens: every position of
// every window is real text. A window may start mid-sentence or hold the end of one document and the start of
// the next; MLM and ELECTRA do not mind (the separator tells the model where a document ends).
import { SEP_ID } from "./vocab";

export interface PackOptions {
  /** Tokens per window (the model adds [CLS]: build it with maxLen >= length + 1). */
  length: number;
  /** Id written between documents (default SEP_ID); null for none. */
  separator?: number | null;
  /** Keep the last, shorter window (default false: every window is full). */
  keepRemainder?: boolean;
  /** Stop after this many windows (default: all). */
  maxWindows?: number;
}

/** docs: token-id lists -> windows of exactly `length` ids (the last one shorter only with keepRemainder). */
export function packSequences(docs: Iterable<readonly number[]>, opts: PackOptions): number[][] {
  const { length, separator = SEP_ID, keepRemainder = false, maxWindows = Infinity } = opts;
  if (!Number.isInteger(length) || length <= 0) throw new Error(`packSequences length (${length}) must be a positive integer, e.g. 127.`);
  if (!(maxWindows > 0)) throw new Error(`packSequences maxWindows (${maxWindows}) must be positive.`);
  const windows: number[][] = [];
  let current: number[] = [];
  const push = (id: number): boolean => {
    current.push(id);
    if (current.length === length) {
      windows.push(current);
      current = [];
      return windows.length >= maxWindows;
    }
    return false;
  };
  let first = true;
  for (const doc of docs) {
    if (!Array.isArray(doc)) throw new Error("packSequences expects arrays of token ids (encode the text first).");
    if (doc.length === 0) continue;
    if (!first && separator !== null && push(separator)) return windows;
    first = false;
    for (const id of doc) if (push(id)) return windows;
  }
  if (keepRemainder && current.length > 0) windows.push(current);
  return windows;
}
