// Synthetic token-level tasks whose right answer is obvious — lecture 3's test of "a glorified linear network".
//
// Every token carries `bits` features (default 2: a, b) drawn from N(0, 1), plus optional noise dimensions. The
// label of a token is an XOR of signs, the classic function that no linear model can compute (Minsky & Papert 1969):
//   rule "self":      label_i = 1 when exactly one of a_i, b_i is negative       (a_i · b_i < 0)
//                     with bits = k: 1 when an odd number of the k features is negative (k-bit parity)
//   rule "neighbour": label_i = 1 when exactly one of a_{i-1}, a_i is negative   (a_{-1} counts as positive)
// Rule "self" needs a non-linearity and no context at all; "neighbour" needs context as well. Labels are 1 for
// half the tokens, so guessing scores 50%; a per-token linear model also scores about 50%.
import { Rng } from "../random";
import { TokenExample } from "../models/token_tagger";

export type XorRule = "self" | "neighbour";
export const XOR_RULES: readonly XorRule[] = ["self", "neighbour"];

export interface XorTokensOptions {
  /** Number of sequences. */
  count: number;
  /** Tokens per sequence: one number (1 = isolated tokens), or [min, max] inclusive (default [4, 12]). */
  length?: number | [number, number];
  rule?: XorRule;
  /** Features whose signs the label XORs (rule "self" only; default 2). More bits need a wider MLP. */
  bits?: number;
  /** Extra N(0, 1) dimensions after the label's features that carry nothing about the label (default 0). */
  noiseDims?: number;
  seed?: number;
}

/** Width of the feature vectors xorTokens makes: bits (default 2) + noiseDims (default 0). */
export function xorFeatureDim(opts: { bits?: number; noiseDims?: number } = {}): number {
  return (opts.bits ?? 2) + (opts.noiseDims ?? 0);
}

function checkInt(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`xorTokens ${what} (${v}) must be an integer >= ${min}.`);
}

/** Standard normal from two uniforms (Box–Muller). */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Seeded sequences of tokens with XOR-of-signs labels (see the top of this file). */
export function xorTokens(opts: XorTokensOptions): TokenExample[] {
  const rule = opts.rule ?? "self";
  if (!XOR_RULES.includes(rule)) throw new Error(`xorTokens rule "${rule}" is unknown: use one of ${XOR_RULES.join(", ")}.`);
  checkInt("count", opts.count, 1);
  const [lo, hi] = typeof opts.length === "number" ? [opts.length, opts.length] : opts.length ?? [4, 12];
  checkInt("length (min)", lo, 1);
  checkInt("length (max)", hi, lo);
  const noiseDims = opts.noiseDims ?? 0;
  checkInt("noiseDims", noiseDims, 0);
  const bits = opts.bits ?? 2;
  checkInt("bits", bits, 2);
  if (rule === "neighbour" && bits !== 2) throw new Error(`xorTokens bits (${bits}) applies to rule "self" only: leave it out for "neighbour".`);
  const rng = new Rng(opts.seed ?? 0);
  return Array.from({ length: opts.count }, () => {
    const t = lo + rng.int(hi - lo + 1);
    const features = Array.from({ length: t }, () => Array.from({ length: bits + noiseDims }, () => gaussian(rng)));
    const negatives = (f: number[]) => f.slice(0, bits).filter((x) => x < 0).length;
    const labels = features.map((f, i) =>
      rule === "self" ? negatives(f) % 2 : Number((f[0] < 0) !== (i > 0 && features[i - 1][0] < 0)),
    );
    return { features, labels };
  });
}

/** Fraction of tokens with label 1: about 0.5, so always guessing one class scores about 50%. */
export function positiveRate(examples: TokenExample[]): number {
  let ones = 0;
  let all = 0;
  for (const e of examples) for (const y of e.labels) (ones += y), all++;
  return all ? ones / all : 0;
}
