// Relative position biases: word order as a term added to the attention SCORES, by distance, instead of a
// vector added to each token (lib/nn/positions.ts).
//
// With absolute positions a small model must first learn, from data, that position 17 is next to 16 before
// "look at your neighbour" is even expressible; measured here (docs: ../../shared/DESIGN.md §4), a 4-layer
// encoder with learned positions did not leave the unigram plateau in 2,000 MLM steps. A bias by distance
// gives that prior for free:
//   ALiBi (Press et al. 2022, "Train Short, Test Long", §3): score(i, j) += -m_h · |i - j|, a fixed slope m_h
//     per head from a geometric sequence, so some heads look locally and some broadly. No parameters.
//   T5 (Raffel et al. 2020, §2.1; Shaw et al. 2018): score(i, j) += b_h[bucket(j - i)], one LEARNED scalar per
//     head and distance bucket: exact buckets for short distances, logarithmic ones up to maxDistance, one
//     bucket beyond. Shared by all layers of a stack, as in T5.
// A bias is additive like a mask ([1, heads, tq, tk]), so it combines with padding, causal and prefix-LM masks
// by addition (lib/nn/attention.ts: combineMasks); masked keys stay masked.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Rng } from "../random";

export type RelativeBiasKind = "alibi" | "t5";
export const RELATIVE_BIAS_KINDS: readonly RelativeBiasKind[] = ["alibi", "t5"];

/** What a stack needs of a relative bias: scores[b, h, i, j] += bias[0, h, i, j]. */
export interface RelativeBias extends Module {
  readonly kind: RelativeBiasKind;
  readonly heads: number;
  /**
   * The bias for queries at positions queryOffset..queryOffset+tq-1 and keys 0..tk-1: [1, heads, tq, tk].
   * queryOffset (default 0) serves incremental decoding, where the new tokens come after a cache of keys.
   */
  apply(tq: number, tk?: number, queryOffset?: number): tf.Tensor4D;
}

function checkOffset(what: string, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${what} query offset (${offset}) must be a non-negative integer.`);
}

function positiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${what} (${v}) must be a positive integer.`);
}

/**
 * ALiBi's head slopes (Press et al. 2022, §3 and their code): for n a power of two, the geometric sequence
 * 2^(-8/n), 2^(-16/n), ..., 2^(-8) (8 heads: 1/2, 1/4, ..., 1/256). Otherwise the slopes of the largest power of
 * two below n, then every other slope of twice that many, until there are n.
 * `scale` multiplies every slope (default 1, the paper's). The paper's sequence was chosen for 8+ heads, whose
 * steepest head (slope 1/2) looks mostly at the immediate neighbours; with 4 heads the steepest is 1/4, a blur over
 * about ±8 tokens. Scale 4 gives 4 heads slopes 1, 1/4, 1/16, 1/64: one head that reads the neighbours, which is
 * what spotting an implausible word needs (notebook 04, section 4, measures it).
 */
export function alibiSlopes(heads: number, scale = 1): number[] {
  positiveInt("alibiSlopes heads", heads);
  checkSlopeScale("alibiSlopes", scale);
  const pow2 = (n: number): number[] => Array.from({ length: n }, (_, i) => scale * Math.pow(2, (-8 * (i + 1)) / n));
  if (Number.isInteger(Math.log2(heads))) return pow2(heads);
  const p = Math.pow(2, Math.floor(Math.log2(heads)));
  return [...pow2(p), ...pow2(2 * p).filter((_, i) => i % 2 === 0).slice(0, heads - p)];
}

function checkSlopeScale(what: string, scale: number): void {
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`${what} slope scale (${scale}) must be a positive number, e.g. 1 (the paper's slopes) or 4.`);
}

/**
 * T5's bucket of a relative position (key index minus query index), as in Mesh TensorFlow and Hugging Face's
 * T5: bidirectional buckets give half of `numBuckets` to each direction (keys after the query in the upper
 * half); unidirectional (decoder) ones see only the past. Within a direction, the first half of the buckets
 * are exact distances 0, 1, ...; the rest grow logarithmically up to maxDistance; farther is the last bucket.
 */
export function relativePositionBucket(relative: number, opts: { bidirectional?: boolean; numBuckets?: number; maxDistance?: number } = {}): number {
  let buckets = opts.numBuckets ?? 32;
  const maxDistance = opts.maxDistance ?? 128;
  let offset = 0;
  let n: number;
  if (opts.bidirectional ?? true) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) offset = buckets;
    n = Math.abs(relative);
  } else {
    n = Math.max(-relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return offset + n;
  const large = maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (buckets - maxExact));
  return offset + Math.min(large, buckets - 1);
}

/** ALiBi: fixed linear distance penalties, one slope per head. No parameters; tensors cached per shape. */
export class AlibiBias extends Module implements RelativeBias {
  readonly kind = "alibi" as const;
  readonly heads: number;
  readonly slopes: number[];
  private readonly cache = new Map<string, tf.Tensor4D>();
  /** slopeScale: multiplies every head's slope (default 1; see alibiSlopes). */
  constructor(opts: { heads: number; slopeScale?: number }) {
    super();
    positiveInt("AlibiBias heads", opts.heads);
    this.heads = opts.heads;
    this.slopes = alibiSlopes(opts.heads, opts.slopeScale ?? 1);
  }
  /** [1, heads, tq, tk]: -slope_h · |i - j| (symmetric: an encoder sees both sides; a causal mask hides j > i). */
  apply(tq: number, tk = tq, queryOffset = 0): tf.Tensor4D {
    positiveInt("AlibiBias query length", tq);
    positiveInt("AlibiBias key length", tk);
    checkOffset("AlibiBias", queryOffset);
    const key = `${tq}x${tk}+${queryOffset}`;
    let t = this.cache.get(key);
    if (!t) {
      const v = new Float32Array(this.heads * tq * tk);
      this.slopes.forEach((m, h) => {
        for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) v[(h * tq + i) * tk + j] = -m * Math.abs(i + queryOffset - j);
      });
      t = tf.keep(tf.tensor4d(v, [1, this.heads, tq, tk]));
      this.cache.set(key, t);
    }
    return tf.clone(t); // callers may dispose what they get; the cached copy stays
  }
  override dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
    super.dispose();
  }
}

export interface T5BiasOptions {
  heads: number;
  /** false for a causal decoder (only past distances get buckets). Default true. */
  bidirectional?: boolean;
  /** Default 32, as T5. */
  numBuckets?: number;
  /** Distances beyond this share the last bucket (default 128, as T5). */
  maxDistance?: number;
  /** Std of the normal initialiser (default 0.1). */
  initStd?: number;
  /** ALiBi only: multiplies every head's slope (default 1; see alibiSlopes). */
  alibiSlopeScale?: number;
  seed?: number;
}

/** T5's learned bias: a [numBuckets, heads] table read through the bucket of each (query, key) distance. */
export class T5RelativeBias extends Module implements RelativeBias {
  readonly kind = "t5" as const;
  readonly heads: number;
  readonly numBuckets: number;
  readonly maxDistance: number;
  readonly bidirectional: boolean;
  readonly table: tf.Variable;
  private readonly buckets = new Map<string, tf.Tensor1D>();
  constructor(opts: T5BiasOptions) {
    super();
    positiveInt("T5RelativeBias heads", opts.heads);
    this.heads = opts.heads;
    this.numBuckets = opts.numBuckets ?? 32;
    this.maxDistance = opts.maxDistance ?? 128;
    this.bidirectional = opts.bidirectional ?? true;
    positiveInt("T5RelativeBias numBuckets", this.numBuckets);
    if (this.numBuckets < (this.bidirectional ? 4 : 2)) throw new Error(`T5RelativeBias numBuckets (${this.numBuckets}) is too small: use e.g. 32.`);
    if (!(this.maxDistance > this.numBuckets / 2)) throw new Error(`T5RelativeBias maxDistance (${this.maxDistance}) must exceed numBuckets / 2 (${this.numBuckets / 2}), e.g. 128.`);
    const rng = new Rng(opts.seed ?? 0);
    this.table = this.addParam("table", tf.randomNormal([this.numBuckets, this.heads], 0, opts.initStd ?? 0.1, "float32", rng.seed()));
  }
  /** Bucket ids for every (i, j), flattened row by row: [tq·tk] int32 (cached per shape and offset). */
  bucketIds(tq: number, tk = tq, queryOffset = 0): tf.Tensor1D {
    const key = `${tq}x${tk}+${queryOffset}`;
    let t = this.buckets.get(key);
    if (!t) {
      const ids = new Int32Array(tq * tk);
      const o = { bidirectional: this.bidirectional, numBuckets: this.numBuckets, maxDistance: this.maxDistance };
      for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) ids[i * tk + j] = relativePositionBucket(j - i - queryOffset, o);
      t = tf.keep(tf.tensor1d(ids, "int32"));
      this.buckets.set(key, t);
    }
    return t;
  }
  /** [1, heads, tq, tk]: table[bucket(j - i), h]. */
  apply(tq: number, tk = tq, queryOffset = 0): tf.Tensor4D {
    positiveInt("T5RelativeBias query length", tq);
    positiveInt("T5RelativeBias key length", tk);
    checkOffset("T5RelativeBias", queryOffset);
    return tf.tidy(() => {
      const rows = tf.gather(this.table, this.bucketIds(tq, tk, queryOffset)); // [tq·tk, heads]
      return tf.reshape(tf.transpose(rows), [1, this.heads, tq, tk]) as tf.Tensor4D;
    });
  }
  override dispose(): void {
    for (const t of this.buckets.values()) t.dispose();
    this.buckets.clear();
    super.dispose();
  }
}

/** Build a relative bias by name for a stack with `heads` heads. */
export function makeRelativeBias(kind: RelativeBiasKind, opts: T5BiasOptions): RelativeBias {
  switch (kind) {
    case "alibi":
      return new AlibiBias({ heads: opts.heads, slopeScale: opts.alibiSlopeScale });
    case "t5":
      return new T5RelativeBias(opts);
    default:
      throw new Error(`relative bias "${kind}" is unknown: use one of ${RELATIVE_BIAS_KINDS.join(", ")}.`);
  }
}
