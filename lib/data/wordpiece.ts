// WordPiece: BERT's subword vocabulary (Wu et al. 2016; Devlin et al. 2019), trained and applied as Hugging
// Face's `tokenizers` does, so a vocabulary learned here tokenizes text as the library would.
//
// Why subwords: a word vocabulary either grows without bound or maps every rare word to [UNK]; characters keep
// everything but make sequences long. Subwords sit between: frequent words stay whole, rare ones split into
// pieces that are frequent ("unwatchable" -> "un", "##watch", "##able"); "##" marks a piece that continues a word.
//
//   1. normalize (BertNormalizer): drop control characters, space out CJK ideographs, strip accents, lower-case;
//   2. pre-tokenize (BertPreTokenizer): split on whitespace, and put every punctuation character on its own;
//   3. train: start from single characters ("a", and "##a" inside a word), then repeatedly MERGE the most
//      frequent adjacent pair of pieces over the corpus's words into a new piece ("##a" + "##b" -> "##ab"),
//      until the vocabulary has `vocabSize` entries (the BPE procedure of Sennrich et al. 2016 with the "##"
//      continuation marker, which is what Hugging Face's WordPieceTrainer runs);
//   4. tokenize a word greedily, longest piece first from the left; a word with no segmentation is [UNK].
// Ties between equally frequent pairs go to the pair of smaller ids, as in `tokenizers`.
import { SPECIALS, UNK_ID, Vocab } from "./vocab";

export const CONTINUATION = "##";

const CJK: [number, number][] = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b820, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];
const isCjk = (cp: number): boolean => CJK.some(([a, b]) => cp >= a && cp <= b);
// BERT counts ASCII symbols ($, +, <, =, >, ^, `, |, ~) as punctuation too, beside Unicode's P* categories.
const PUNCT = /^[\p{P}!-/:-@[-`{-~]$/u;
const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]$/u;
// ASCII answers precomputed (most characters of English text): 1 = space, 2 = control, 3 = punctuation.
const ASCII = Array.from({ length: 128 }, (_, c) => {
  const ch = String.fromCharCode(c);
  return c === 9 || c === 10 || c === 13 || c === 32 ? 1 : c < 32 || c === 127 ? 2 : PUNCT.test(ch) ? 3 : 0;
});
const isPunct = (ch: string): boolean => {
  const cp = ch.codePointAt(0) as number;
  return cp < 128 ? ASCII[cp] === 3 : PUNCT.test(ch);
};

/** BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase): "Café\u0000 Noël!" -> "cafe noel!" */
export function bertNormalize(text: string, opts: { lowercase?: boolean } = {}): string {
  const lowercase = opts.lowercase ?? true;
  // Pieces joined once at the end: a string grown one character at a time is a deep rope, whose flattening
  // can overflow a small stack (Jupyter kernels run with one).
  const parts: string[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 128) {
      const k = ASCII[cp];
      if (k !== 2) parts.push(k === 1 ? " " : ch);
    } else if (/^\s$/u.test(ch)) parts.push(" ");
    else if (cp === 0xfffd || CONTROL.test(ch)) continue;
    else parts.push(isCjk(cp) ? ` ${ch} ` : ch);
  }
  const out = parts.join("");
  // Accents are stripped whenever text is lower-cased (BERT uncased): decompose, drop the combining marks.
  return lowercase ? out.normalize("NFD").replace(/\p{Mn}/gu, "").toLowerCase() : out;
}

/** BertPreTokenizer: whitespace splits, every punctuation character stands alone. "it's." -> ["it", "'", "s", "."] */
export function bertPreTokenize(normalized: string): string[] {
  const out: string[] = [];
  for (const chunk of normalized.split(/\s+/u)) {
    let start = 0; // code-unit offset where the current word began
    let i = 0;
    for (const ch of chunk) {
      if (isPunct(ch)) {
        if (i > start) out.push(chunk.slice(start, i));
        out.push(ch);
        start = i + ch.length;
      }
      i += ch.length;
    }
    if (i > start) out.push(chunk.slice(start, i));
  }
  return out;
}

export interface WordPieceTrainOptions {
  /** Final vocabulary size, special tokens included (e.g. 8000). */
  vocabSize: number;
  /** Stop merging when the best pair occurs fewer times than this (default 0: as `tokenizers`). */
  minFrequency?: number;
  /** Keep only the most frequent this many characters (default: all); rarer ones become [UNK]. */
  limitAlphabet?: number;
  /** Lower-case and strip accents (default true: BERT uncased). */
  lowercase?: boolean;
  /** Called every ~10% of the merges with (vocabulary size so far, target). */
  onProgress?: (size: number, target: number) => void;
}

/** A binary max-heap of [count, a, b], ordered by count, then by the smaller pair of ids. */
class PairHeap {
  private readonly items: [number, number, number][] = [];
  get size(): number {
    return this.items.length;
  }
  private better(x: [number, number, number], y: [number, number, number]): boolean {
    return x[0] !== y[0] ? x[0] > y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
  }
  push(item: [number, number, number]): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.better(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): [number, number, number] | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.better(a[l], a[m])) m = l;
        if (r < a.length && this.better(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

const KEY = 2 ** 21; // pair (a, b) -> a·2^21 + b: exact in a double for ids below 2^21
const pairKey = (a: number, b: number): number => a * KEY + b;

/**
 * Learn a WordPiece vocabulary from raw texts -> a WordPieceTokenizer whose vocab holds the course's special
 * tokens at ids 0..6, then the characters (by code point), then continuation characters and merged pieces in
 * the order they were made. Throws if vocabSize is smaller than the specials plus the alphabet.
 */
export function trainWordPiece(texts: Iterable<string>, opts: WordPieceTrainOptions): WordPieceTokenizer {
  const { vocabSize, minFrequency = 0, limitAlphabet, lowercase = true } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize <= SPECIALS.length) throw new Error(`trainWordPiece vocabSize (${vocabSize}) must be an integer above ${SPECIALS.length}, e.g. 8000.`);
  // 1. Word counts (Map keeps first-seen order, so training is deterministic).
  const wordCounts = new Map<string, number>();
  for (const text of texts) for (const w of bertPreTokenize(bertNormalize(text, { lowercase }))) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  // 2. The alphabet: every character (or the limitAlphabet most frequent), in code-point order.
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  let alphabet = [...charCounts.entries()];
  if (limitAlphabet !== undefined) alphabet = alphabet.sort((x, y) => y[1] - x[1]).slice(0, limitAlphabet);
  const tokens: string[] = [...SPECIALS, ...alphabet.map(([ch]) => ch).sort((x, y) => (x.codePointAt(0) as number) - (y.codePointAt(0) as number))];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const idOf = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) (id = tokens.length), tokens.push(t), ids.set(t, id);
    return id;
  };
  // 3. Every word as a list of piece ids: first character plain, the rest "##"-prefixed.
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const syms: number[] = [];
    let first = true;
    for (const ch of w) {
      if (ids.has(ch)) syms.push(idOf(first ? ch : CONTINUATION + ch));
      first = false;
    }
    words.push(syms);
    counts.push(c);
  }
  if (tokens.length > vocabSize) {
    throw new Error(`trainWordPiece vocabSize (${vocabSize}) is smaller than the specials, the alphabet and its "##" pieces (${tokens.length}): raise it or set limitAlphabet.`);
  }
  // 4. Pair counts and where each pair occurs.
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const add = (a: number, b: number, n: number, w: number): void => {
    const k = pairKey(a, b);
    pairCount.set(k, (pairCount.get(k) ?? 0) + n);
    if (n > 0) {
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      s.add(w);
    }
  };
  words.forEach((syms, w) => {
    for (let i = 0; i + 1 < syms.length; i++) add(syms[i], syms[i + 1], counts[w], w);
  });
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push([c, Math.floor(k / KEY), k % KEY]);
  // 5. Merge the best pair until the vocabulary is full.
  const step = Math.max(1, Math.round((vocabSize - tokens.length) / 10));
  let nextReport = tokens.length + step;
  while (tokens.length < vocabSize && heap.size > 0) {
    const [c, a, b] = heap.pop() as [number, number, number];
    const k = pairKey(a, b);
    const now = pairCount.get(k) ?? 0;
    if (c !== now) {
      if (now > 0) heap.push([now, a, b]); // stale entry: re-queue with the current count
      continue;
    }
    if (c < 1 || c < minFrequency) break;
    const bText = tokens[b].startsWith(CONTINUATION) ? tokens[b].slice(CONTINUATION.length) : tokens[b];
    const merged = idOf(tokens[a] + bText);
    const fresh = new Set<number>();
    for (const w of where.get(k) ?? []) {
      const s = words[w];
      const n = counts[w];
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] !== a || s[i + 1] !== b) continue;
        if (i > 0) (add(s[i - 1], a, -n, w), add(s[i - 1], merged, n, w), fresh.add(pairKey(s[i - 1], merged)));
        if (i + 2 < s.length) (add(b, s[i + 2], -n, w), add(merged, s[i + 2], n, w), fresh.add(pairKey(merged, s[i + 2])));
        add(a, b, -n, w);
        s.splice(i, 2, merged);
      }
    }
    where.delete(k);
    for (const f of fresh) {
      const fc = pairCount.get(f) ?? 0;
      if (fc > 0) heap.push([fc, Math.floor(f / KEY), f % KEY]);
    }
    if (opts.onProgress && tokens.length >= nextReport) (opts.onProgress(tokens.length, vocabSize), (nextReport += step));
  }
  return new WordPieceTokenizer({ vocab: Vocab.fromJSON({ kind: "nlu-course/vocab", tokens }), lowercase });
}

export interface WordPieceJSON {
  kind: "nlu-course/wordpiece";
  tokens: string[];
  lowercase: boolean;
}

/** Greedy longest-match-first WordPiece over a Vocab (BERT's tokenizer), with BERT's normalizer and pre-tokenizer. */
export class WordPieceTokenizer {
  readonly vocab: Vocab;
  readonly lowercase: boolean;
  /** Longer words are [UNK] without trying (as BERT: 100). */
  readonly maxInputCharsPerWord = 100;
  /** Words repeat (Zipf): each distinct word is segmented once. */
  private readonly cache = new Map<string, string[]>();
  constructor(opts: { vocab: Vocab; lowercase?: boolean }) {
    this.vocab = opts.vocab;
    this.lowercase = opts.lowercase ?? true;
  }

  get size(): number {
    return this.vocab.size;
  }

  /** One pre-tokenized word -> its pieces: "unwatchable" -> ["un", "##watch", "##able"], or ["[UNK]"]. */
  wordPieces(word: string): string[] {
    let hit = this.cache.get(word);
    if (!hit) {
      hit = this.segment(word);
      if (this.cache.size < 500_000) this.cache.set(word, hit);
    }
    return hit;
  }

  private segment(word: string): string[] {
    // Code-unit offsets of each character (a character outside the BMP is two units).
    const cuts = [0];
    for (const ch of word) cuts.push(cuts[cuts.length - 1] + ch.length);
    const n = cuts.length - 1;
    if (n > this.maxInputCharsPerWord) return [SPECIALS[UNK_ID]];
    const out: string[] = [];
    for (let start = 0; start < n; ) {
      let end = n;
      let piece: string | null = null;
      for (; end > start; end--) {
        const sub = (start > 0 ? CONTINUATION : "") + word.slice(cuts[start], cuts[end]);
        if (this.vocab.has(sub)) {
          piece = sub;
          break;
        }
      }
      if (piece === null) return [SPECIALS[UNK_ID]];
      out.push(piece);
      start = end;
    }
    return out;
  }

  /** Text -> pieces: normalize, pre-tokenize, WordPiece each word. */
  tokenize(text: string): string[] {
    if (typeof text !== "string") throw new Error(`WordPieceTokenizer.tokenize expects a string, got ${typeof text}.`);
    const out: string[] = [];
    for (const w of bertPreTokenize(bertNormalize(text, { lowercase: this.lowercase }))) for (const p of this.wordPieces(w)) out.push(p);
    return out;
  }

  /** Text -> ids (no [CLS]/[SEP]: the models add what they need). */
  encode(text: string): number[] {
    return this.vocab.encode(this.tokenize(text));
  }

  /** ids -> readable text: continuation pieces glued to the piece before them. */
  decode(ids: number[]): string {
    return this.vocab.decode(ids, { skipSpecial: true }).reduce((s, t) => (t.startsWith(CONTINUATION) ? s + t.slice(CONTINUATION.length) : s ? `${s} ${t}` : t), "");
  }

  toJSON(): WordPieceJSON {
    return { kind: "nlu-course/wordpiece", tokens: [...this.vocab.tokens], lowercase: this.lowercase };
  }

  static fromJSON(json: WordPieceJSON): WordPieceTokenizer {
    if (json?.kind !== "nlu-course/wordpiece") throw new Error("Not a saved WordPieceTokenizer (expected {kind: 'nlu-course/wordpiece', tokens, lowercase}).");
    return new WordPieceTokenizer({ vocab: Vocab.fromJSON({ kind: "nlu-course/vocab", tokens: json.tokens }), lowercase: json.lowercase });
  }
}
