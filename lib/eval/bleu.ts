// Corpus BLEU (Papineni et al. 2002) computed exactly as sacreBLEU does by default (Post 2018): the `13a`
// tokenization of mteval-v13a.pl, n-grams up to 4, clipped counts summed over the whole corpus (not averaged
// per sentence), the brevity penalty against the closest reference length, and the "exp" smoothing of orders
// without any match. Scores are on sacreBLEU's 0–100 scale.
//
// Why write it by hand: BLEU is what the lecture's translation section reports, and the number is only
// comparable to published ones if every detail matches sacreBLEU's signature
// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x`. test/seq2seq_metrics.test.ts checks this file against values
// sacreBLEU 2.6 computed for the same hypotheses and references (committed as numbers).
//
//   corpusBleu({ hypotheses: ["Ein Hund läuft."], references: [["Ein Hund rennt."]] }).score
//
// Input is detokenized text, as a system would print it: BLEU tokenizes for itself, so never pass text that is
// already split into tokens with spaces around punctuation unless the reference is split the same way.

export const BLEU_MAX_ORDER = 4;

// The characters Python's str.split() treats as whitespace (str.isspace), which JS's \s does not match
// exactly (\s adds U+FEFF, lacks U+001C–U+001F and U+0085).
const PY_WHITESPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

function splitWhitespace(s: string): string[] {
  return s.split(PY_WHITESPACE).filter((t) => t.length > 0);
}

// mteval-v13a's rules, in order (sacrebleu/tokenizers/tokenizer_re.py): every ASCII punctuation mark except
// ' , - . becomes its own token; a period or comma is split off unless it sits between digits (3.5, 1,000);
// a dash after a digit is split off (5-3 → 5 - 3).
const RULES_13A: [RegExp, string][] = [
  [/([{-~[-` -&(-+:-@/])/gu, " $1 "],
  [/([^0-9])([.,])/gu, "$1 $2 "],
  [/([.,])([^0-9])/gu, " $1 $2"],
  [/([0-9])(-)/gu, "$1 $2 "],
];

/** sacreBLEU's default `13a` tokenizer: "Hello, world!" → "Hello , world !". Returns the tokens. */
export function tokenize13a(line: string): string[] {
  if (typeof line !== "string") throw new Error(`tokenize13a expects a string, got ${typeof line}.`);
  let s = line.replace(/<skipped>/g, "").replace(/-\n/g, "").replace(/\n/g, " ");
  if (s.includes("&")) s = s.replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  s = ` ${s} `;
  for (const [re, repl] of RULES_13A) s = s.replace(re, repl);
  return splitWhitespace(s);
}

/** counts[n-1]: every n-gram of order n, keyed by its tokens joined with a separator no token holds. */
function ngramCounts(tokens: string[], maxOrder: number): Map<string, number>[] {
  return Array.from({ length: maxOrder }, (_, k) => {
    const counts = new Map<string, number>();
    for (let i = 0; i + k < tokens.length; i++) {
      const key = tokens.slice(i, i + k + 1).join("\u0001");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  });
}

export interface BleuOptions {
  /** One system output per segment (detokenized text). */
  hypotheses: string[];
  /**
   * References per segment: references[i] lists segment i's references (one or more). Every segment needs at
   * least one; sacreBLEU's "reference streams" are the transpose of this.
   */
  references: string[][];
  /** Lower-case everything first (default false: sacreBLEU's `case:mixed`). */
  lowercase?: boolean;
  /** Largest n-gram order (default 4). */
  maxOrder?: number;
  /** Tokenizer (default tokenize13a); "none" splits on whitespace only (text that is already tokenized). */
  tokenize?: "13a" | "none";
}

export interface BleuResult {
  /** BLEU on a 0–100 scale. */
  score: number;
  /** Modified n-gram precisions p_1..p_N in percent (after smoothing). */
  precisions: number[];
  /** Clipped n-gram matches per order, and n-grams in the hypotheses per order. */
  matches: number[];
  totals: number[];
  /** Brevity penalty: 1 when the output is at least as long as the references, else exp(1 − r/c). */
  brevityPenalty: number;
  /** c: hypothesis tokens; r: the closest reference length per segment, summed. */
  hypLength: number;
  refLength: number;
}

/**
 * Corpus BLEU with sacreBLEU's defaults (see the top of this file).
 *   BLEU = BP · exp( (1/N) Σ_n log p_n ),  p_n = Σ_seg clipped matches_n / Σ_seg hypothesis n-grams_n
 * An n-gram order with no match gets p_n = 100 / (2^k · total_n), k counting such orders (mteval's "exp"
 * smoothing); no match at all gives 0. Errors: different numbers of hypotheses and reference lists, a segment
 * without references, an empty corpus.
 */
export function corpusBleu(opts: BleuOptions): BleuResult {
  const { hypotheses, references } = opts;
  const maxOrder = opts.maxOrder ?? BLEU_MAX_ORDER;
  if (!Array.isArray(hypotheses) || !Array.isArray(references)) {
    throw new Error("corpusBleu needs hypotheses: string[] and references: string[][] (one list of references per hypothesis).");
  }
  if (hypotheses.length !== references.length) {
    throw new Error(`corpusBleu got ${hypotheses.length} hypotheses but ${references.length} reference lists: pass one list per hypothesis.`);
  }
  if (hypotheses.length === 0) throw new Error("corpusBleu got an empty corpus: pass at least one hypothesis.");
  if (!Number.isInteger(maxOrder) || maxOrder < 1) throw new Error(`maxOrder (${maxOrder}) must be a positive integer.`);
  const tok = opts.tokenize ?? "13a";
  if (tok !== "13a" && tok !== "none") throw new Error(`tokenize "${tok}" is unknown: use "13a" or "none".`);
  const prep = (s: string): string[] => {
    if (typeof s !== "string") throw new Error(`corpusBleu expects strings, got ${typeof s}: detokenize token lists first.`);
    const t = (opts.lowercase ? s.toLowerCase() : s).trimEnd();
    return tok === "13a" ? tokenize13a(t) : splitWhitespace(t);
  };

  const matches = new Array<number>(maxOrder).fill(0);
  const totals = new Array<number>(maxOrder).fill(0);
  let hypLength = 0;
  let refLength = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i];
    if (!Array.isArray(refs) || refs.length === 0) throw new Error(`segment ${i} has no reference: give every hypothesis at least one.`);
    // Clip each n-gram by its largest count in any one reference (Papineni et al. §2.1).
    const refMax = Array.from({ length: maxOrder }, () => new Map<string, number>());
    const refLens: number[] = [];
    for (const r of refs) {
      const rt = prep(r);
      refLens.push(rt.length);
      ngramCounts(rt, maxOrder).forEach((counts, n) => {
        for (const [g, c] of counts) refMax[n].set(g, Math.max(refMax[n].get(g) ?? 0, c));
      });
    }
    const ht = prep(hyp);
    hypLength += ht.length;
    // The closest reference length; ties go to the shorter one.
    let best = refLens[0];
    for (const l of refLens) {
      const d = Math.abs(ht.length - l);
      const bd = Math.abs(ht.length - best);
      if (d < bd || (d === bd && l < best)) best = l;
    }
    refLength += best;
    ngramCounts(ht, maxOrder).forEach((counts, n) => {
      for (const [g, c] of counts) {
        totals[n] += c;
        matches[n] += Math.min(c, refMax[n].get(g) ?? 0);
      }
    });
  });

  const brevityPenalty = hypLength < refLength ? (hypLength > 0 ? Math.exp(1 - refLength / hypLength) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = { precisions, matches, totals, brevityPenalty, hypLength, refLength };
  if (matches.every((m) => m === 0)) return { score: 0, ...result };
  let smooth = 1;
  for (let n = 0; n < maxOrder; n++) {
    if (totals[n] === 0) break; // no n-grams of this order at all: p_n stays 0 and the score is 0
    if (matches[n] === 0) {
      smooth *= 2;
      precisions[n] = 100 / (smooth * totals[n]);
    } else {
      precisions[n] = (100 * matches[n]) / totals[n];
    }
  }
  if (precisions.some((p) => p === 0)) return { score: 0, ...result };
  const logMean = precisions.reduce((s, p) => s + Math.log(p), 0) / maxOrder;
  return { score: brevityPenalty * Math.exp(logMean), ...result };
}
