// Metrics for generated sequences: exact match, token accuracy, edit distance and character error rate.
// (Corpus BLEU lives in ./bleu.ts.) Plain arrays in, numbers out, so every value is easy to check by hand.
//
// Which metric for which task of lecture 5: semantic parsing (COGS) counts a logical form as right only when
// every symbol is right — exact match, as Kim & Linzen (2020) report; token accuracy shows how close the misses
// are. Spelling correction reports exact match (top-1) and character error rate. Translation reports BLEU.

/** A sequence to compare: a string (compared by code point) or a list of tokens/ids. */
export type Sequence = string | readonly (string | number)[];

function units(s: Sequence): readonly (string | number)[] {
  return typeof s === "string" ? Array.from(s) : s;
}

function checkPairs(gold: readonly Sequence[], pred: readonly Sequence[], what: string): void {
  if (!Array.isArray(gold) || !Array.isArray(pred)) throw new Error(`${what} expects two arrays (gold, predicted).`);
  if (gold.length !== pred.length) throw new Error(`${what}: gold (${gold.length}) and predicted (${pred.length}) differ in length.`);
  if (gold.length === 0) throw new Error(`${what}: no sequences to score: pass at least one pair.`);
}

function same(a: Sequence, b: Sequence): boolean {
  const x = units(a);
  const y = units(b);
  return x.length === y.length && x.every((u, i) => u === y[i]);
}

/**
 * Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`
 * (each costs 1). Strings compare code points; arrays compare elements with ===. O(|a|·|b|) time, O(|b|) memory.
 * With `limit`, stops as soon as the distance must exceed it and returns limit + 1 (a search for near words
 * needs no exact distance for far ones).
 */
export function editDistance(a: Sequence, b: Sequence, limit = Infinity): number {
  const x = units(a);
  const y = units(b);
  if (Math.abs(x.length - y.length) > limit) return limit + 1;
  let prev = new Int32Array(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  let cur = new Int32Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      const ins = cur[j - 1] + 1;
      const del = prev[j] + 1;
      const d = sub < ins ? (sub < del ? sub : del) : ins < del ? ins : del;
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    // Every later row is at least this row's minimum: the distance can no longer come under the limit.
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return Math.min(prev[y.length], limit + 1);
}

/** Exact match (sequence accuracy): the fraction of predictions identical to their gold sequence. */
export function exactMatch(gold: readonly Sequence[], pred: readonly Sequence[]): number {
  checkPairs(gold, pred, "exactMatch");
  return gold.reduce((n: number, g, i) => n + (same(g, pred[i]) ? 1 : 0), 0) / gold.length;
}

/**
 * Token accuracy: position-by-position agreement, summed over the corpus. Each pair is compared over the
 * LONGER of its two lengths, so a missing or extra token counts as an error (a prediction that stops early
 * cannot score 100%). Returns correct positions / all positions.
 */
export function tokenAccuracy(gold: readonly Sequence[], pred: readonly Sequence[]): number {
  checkPairs(gold, pred, "tokenAccuracy");
  let right = 0;
  let all = 0;
  gold.forEach((g, i) => {
    const x = units(g);
    const y = units(pred[i]);
    all += Math.max(x.length, y.length);
    for (let j = 0; j < Math.min(x.length, y.length); j++) if (x[j] === y[j]) right++;
  });
  return all === 0 ? 1 : right / all;
}

/**
 * Error rate: total edit distance / total gold length, over the corpus (the definition of jiwer and of
 * speech recognition's WER). Strings give the character error rate (CER); token arrays give a token (word)
 * error rate. Can exceed 1 when predictions are much longer than the gold sequences. Errors: gold of total
 * length 0 (the rate is undefined).
 */
export function errorRate(gold: readonly Sequence[], pred: readonly Sequence[]): number {
  checkPairs(gold, pred, "errorRate");
  let edits = 0;
  let length = 0;
  gold.forEach((g, i) => {
    edits += editDistance(g, pred[i]);
    length += units(g).length;
  });
  if (length === 0) throw new Error("errorRate: every gold sequence is empty, so the rate is undefined.");
  return edits / length;
}

/** Character error rate of strings: errorRate on code points ("recieve" vs "receive": 2 edits / 7 = 0.286). */
export function characterErrorRate(gold: readonly string[], pred: readonly string[]): number {
  checkPairs(gold, pred, "characterErrorRate");
  gold.forEach((g, i) => {
    if (typeof g !== "string" || typeof pred[i] !== "string") throw new Error(`characterErrorRate expects strings; pair ${i} is not: join tokens first.`);
  });
  return errorRate(gold, pred);
}

/** Top-k accuracy of ranked candidate lists: the fraction of examples whose gold sequence is among the first k. */
export function topKAccuracy(gold: readonly Sequence[], ranked: readonly (readonly Sequence[])[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k (${k}) must be a positive integer.`);
  checkPairs(gold, ranked as unknown as Sequence[], "topKAccuracy");
  return gold.reduce((n: number, g, i) => n + (ranked[i].slice(0, k).some((c) => same(g, c)) ? 1 : 0), 0) / gold.length;
}
