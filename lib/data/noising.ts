// BART's noising functions (Lewis et al. 2020, §2.2 and Figure 2): ways to corrupt a document that a
// sequence-to-sequence model then learns to undo. The encoder reads the corrupted text, the decoder writes the
// original; after pre-training, the same model is fine-tuned on a real task.
//
//   token masking          random tokens become [MASK] (as BERT)                     A B C D E → A _ C _ E
//   token deletion         random tokens are removed: the model must find WHERE      A B C D E → A C E
//   text infilling         spans with Poisson(λ = 3) lengths each become ONE [MASK]; a 0-length span inserts
//                          a [MASK]: the model must also say HOW MANY tokens are missing  A B C D E → A _ D _ E
//   sentence permutation   the document's sentences (split at full stops) in a random order
//   document rotation      the document rotated to start at a uniformly chosen token: where did it begin?
//
// BART found text infilling the strongest single noise, and infilling + sentence permutation best overall;
// permutation and rotation alone were poor (Table 1). Every function works on any token type (words,
// characters, ids), takes a seeded Rng, and never changes its input array.
import { Rng } from "../random";

/** A contiguous run of ORIGINAL positions [start, start + length) replaced by one mask (length 0: a mask inserted before `start`). */
export interface Span {
  start: number;
  length: number;
}

export type NoiseSpec =
  | { kind: "mask"; rate?: number }
  | { kind: "delete"; rate?: number }
  | { kind: "infill"; rate?: number; lambda?: number }
  | { kind: "permute" }
  | { kind: "rotate" };
export type NoiseKind = NoiseSpec["kind"];
export const NOISE_KINDS: readonly NoiseKind[] = ["mask", "delete", "infill", "permute", "rotate"];

/** BART's rates: 30% of tokens masked (or deleted, or covered by infilled spans), span lengths Poisson(3). */
export const BART_RATE = 0.3;
export const BART_LAMBDA = 3;

function checkRate(what: string, rate: number): void {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`${what} rate (${rate}) must be in [0, 1], e.g. ${BART_RATE} as BART.`);
}

function checkTokens<T>(what: string, tokens: readonly T[]): void {
  if (!Array.isArray(tokens)) throw new Error(`${what} needs an array of tokens, got ${typeof tokens}.`);
}

/** One draw from Poisson(λ) (Knuth's multiplication method: fine for the small λ of span lengths). */
export function samplePoisson(lambda: number, rng: Rng): number {
  if (!(lambda > 0 && lambda < 50)) throw new Error(`Poisson λ (${lambda}) must be in (0, 50), e.g. ${BART_LAMBDA} as BART.`);
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

/** Token masking: each token independently becomes `mask` with probability `rate` (default 0.3). */
export function tokenMasking<T>(tokens: readonly T[], opts: { mask: T; rng: Rng; rate?: number }): T[] {
  checkTokens("tokenMasking", tokens);
  const rate = opts.rate ?? BART_RATE;
  checkRate("tokenMasking", rate);
  return tokens.map((t) => (opts.rng.next() < rate ? opts.mask : t));
}

/** Token deletion: each token independently removed with probability `rate` (default 0.3); the rest keep their order. */
export function tokenDeletion<T>(tokens: readonly T[], opts: { rng: Rng; rate?: number }): T[] {
  checkTokens("tokenDeletion", tokens);
  const rate = opts.rate ?? BART_RATE;
  checkRate("tokenDeletion", rate);
  return tokens.filter(() => opts.rng.next() >= rate);
}

/**
 * The spans text infilling replaces, for a document of n tokens: lengths drawn from Poisson(λ) until they cover
 * round(rate · n) tokens (the last one shortened to fit), then placed in random order and at random without
 * overlap — the uncovered tokens are split into the gaps between spans uniformly (stars and bars), so every
 * arrangement is equally likely (positions near either end are covered less often: fewer arrangements reach
 * them). Sorted by start. A 0-length span is an insertion point.
 */
export function sampleInfillingSpans(n: number, opts: { rng: Rng; rate?: number; lambda?: number }): Span[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`sampleInfillingSpans: n (${n}) must be a non-negative integer (the number of tokens).`);
  const rate = opts.rate ?? BART_RATE;
  checkRate("textInfilling", rate);
  const lambda = opts.lambda ?? BART_LAMBDA;
  const covered = Math.round(rate * n);
  const lengths: number[] = [];
  let sum = 0;
  while (sum < covered) {
    const l = Math.min(samplePoisson(lambda, opts.rng), covered - sum);
    lengths.push(l);
    sum += l;
  }
  // The shortened span must not always come last: spans in random order.
  opts.rng.shuffle(lengths);
  // Gaps: shuffle (n - covered) tokens and K bars; the tokens before bar k form the gap before span k.
  const slots = [...new Array<number>(n - covered).fill(0), ...new Array<number>(lengths.length).fill(1)];
  opts.rng.shuffle(slots);
  const spans: Span[] = [];
  let pos = 0;
  for (const s of slots) {
    if (s === 0) pos++;
    else {
      const length = lengths[spans.length];
      spans.push({ start: pos, length });
      pos += length;
    }
  }
  return spans;
}

/** Replace each span of `tokens` by one `mask` (a 0-length span inserts one). Spans sorted and disjoint. */
export function applySpans<T>(tokens: readonly T[], spans: readonly Span[], mask: T): T[] {
  const out: T[] = [];
  let i = 0;
  for (const s of spans) {
    if (s.start < i || s.start + s.length > tokens.length) throw new Error(`spans must be sorted, disjoint and inside the ${tokens.length} tokens; got start ${s.start}, length ${s.length}.`);
    out.push(...tokens.slice(i, s.start), mask);
    i = s.start + s.length;
  }
  out.push(...tokens.slice(i));
  return out;
}

/** Text infilling (BART's best single noise): Poisson(λ = 3) spans covering `rate` (0.3) of the tokens, each → one mask. */
export function textInfilling<T>(tokens: readonly T[], opts: { mask: T; rng: Rng; rate?: number; lambda?: number }): T[] {
  checkTokens("textInfilling", tokens);
  return applySpans(tokens, sampleInfillingSpans(tokens.length, opts), opts.mask);
}

/** Default sentence end: a token that is a full stop, "!" or "?" (word or character tokens). */
export const isFullStop = (t: unknown): boolean => typeof t === "string" && /^[.!?]+$/.test(t);
const isSpaceToken = (t: unknown): boolean => typeof t === "string" && /^\s+$/.test(t);

export interface SentenceOptions<T> {
  /** Does a sentence end with this token? (default isFullStop: ".", "!", "?"). Whitespace tokens after it stay with it. */
  isSentenceEnd?: (token: T) => boolean;
}

/** Split a document into sentences (each keeps its final stop and the whitespace tokens after it). */
export function splitSentences<T>(tokens: readonly T[], opts: SentenceOptions<T> = {}): T[][] {
  const isEnd = opts.isSentenceEnd ?? isFullStop;
  const out: T[][] = [];
  let cur: T[] = [];
  let ended = false;
  for (const t of tokens) {
    if (ended && !isSpaceToken(t)) {
      out.push(cur);
      cur = [];
      ended = false;
    }
    cur.push(t);
    if (isEnd(t)) ended = true;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Sentence permutation: the document's sentences in a uniformly random order. */
export function sentencePermutation<T>(tokens: readonly T[], opts: SentenceOptions<T> & { rng: Rng }): T[] {
  checkTokens("sentencePermutation", tokens);
  return opts.rng.shuffle(splitSentences(tokens, opts)).flat();
}

/** Document rotation: the document rotated to begin at a token chosen uniformly at random (the cyclic order is kept). */
export function documentRotation<T>(tokens: readonly T[], opts: { rng: Rng }): T[] {
  checkTokens("documentRotation", tokens);
  if (tokens.length === 0) return [];
  const k = opts.rng.int(tokens.length);
  return [...tokens.slice(k), ...tokens.slice(0, k)];
}

export interface NoiseOptions<T> extends SentenceOptions<T> {
  /** The mask token (needed by "mask" and "infill"). */
  mask?: T;
  /** A seed or a generator (default seed 0). */
  rng?: Rng | number;
}

function checkSpec(s: NoiseSpec): void {
  if (!s || !NOISE_KINDS.includes(s.kind)) throw new Error(`noise "${(s as { kind?: string })?.kind}" is unknown: use one of ${NOISE_KINDS.join(", ")}.`);
}

/**
 * A composition of noises, applied in the order given (BART's best: [{kind: "permute"}, {kind: "infill"}] —
 * permute first, while the sentences are intact). An empty list returns a copy. Errors: an unknown kind, a
 * rate outside [0, 1], "mask"/"infill" without a mask token.
 */
export function applyNoise<T>(tokens: readonly T[], specs: readonly NoiseSpec[], opts: NoiseOptions<T> = {}): T[] {
  checkTokens("applyNoise", tokens);
  specs.forEach(checkSpec);
  const rng = opts.rng instanceof Rng ? opts.rng : new Rng(opts.rng ?? 0);
  const needsMask = specs.some((s) => s.kind === "mask" || s.kind === "infill");
  if (needsMask && opts.mask === undefined) throw new Error('noises "mask" and "infill" need a mask token: pass { mask: "[MASK]" } (or MASK_ID for ids).');
  let out = [...tokens];
  for (const s of specs) {
    switch (s.kind) {
      case "mask":
        out = tokenMasking(out, { mask: opts.mask as T, rng, rate: s.rate });
        break;
      case "delete":
        out = tokenDeletion(out, { rng, rate: s.rate });
        break;
      case "infill":
        out = textInfilling(out, { mask: opts.mask as T, rng, rate: s.rate, lambda: s.lambda });
        break;
      case "permute":
        out = sentencePermutation(out, { rng, isSentenceEnd: opts.isSentenceEnd });
        break;
      case "rotate":
        out = documentRotation(out, { rng });
        break;
    }
  }
  return out;
}

const NOISE_NAMES: Record<NoiseKind, string> = {
  mask: "token masking", delete: "token deletion", infill: "text infilling", permute: "sentence permutation", rotate: "document rotation",
};

/** A composition's name as BART's Table 1 writes it: "text infilling + sentence permutation" ("none" when empty). */
export function describeNoise(specs: readonly NoiseSpec[]): string {
  specs.forEach(checkSpec);
  // The table lists infilling before permutation whatever the order of application.
  const order: NoiseKind[] = ["mask", "delete", "infill", "rotate", "permute"];
  return specs.length === 0 ? "none" : [...specs].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind)).map((s) => NOISE_NAMES[s.kind]).join(" + ");
}
