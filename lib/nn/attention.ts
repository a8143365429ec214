// Attention: scaled dot-product attention, its masks, and multi-head attention with one fused QKV weight.
//
// Every token becomes a query, a key and a value. A query's dot product with each key says how much of that
// key's value to take; a softmax turns the scores into weights and the output is the weighted average of the
// values (Vaswani et al. 2017, eq. 1):  Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k + M) · V.
// M is an ADDITIVE mask: 0 where a query may look, a large negative number where it may not, so that the
// softmax gives those keys weight exp(-1e9) = 0. Masks combine by adding them.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Linear, dropout, glorotUniform } from "./layers";
import { Rng } from "../random";
import { shapeText } from "./check";

/** The "minus infinity" of additive masks. Finite, so that adding two masks (or a fully masked row) stays finite. */
export const MASK_NEG = -1e9;

// ---------------------------------------------------------------------------------------------------------
// Masks. All are additive float32 tensors of rank 4 that broadcast to the scores [batch, heads, tq, tk].

/**
 * Hide padding keys. mask01: [batch, tk], 1 = real token, 0 = padding -> [batch, 1, 1, tk].
 * Queries at padding positions still attend to the real tokens; their outputs are simply ignored later.
 */
export function paddingMask(mask01: tf.Tensor | number[][]): tf.Tensor4D {
  return tf.tidy(() => {
    const m = Array.isArray(mask01) ? tf.tensor2d(mask01, undefined, "float32") : tf.cast(mask01, "float32");
    if (m.rank !== 2) throw new Error(`paddingMask expects mask01 of shape [batch, time], got [${m.shape}].`);
    const [b, t] = m.shape;
    // (m - 1) · 1e9 rather than (1 - m) · -1e9: kept positions become +0, not -0.
    return tf.mul(tf.sub(m, 1), -MASK_NEG).reshape([b, 1, 1, t]) as tf.Tensor4D;
  });
}

function checkLength(what: string, t: number): void {
  if (!Number.isInteger(t) || t <= 0) throw new Error(`${what}: length (${t}) must be a positive integer.`);
}

/**
 * Each position sees itself and the past only (a language model's decoder): [1, 1, t, t]. With `keys` > t the
 * t queries are the LAST t of `keys` positions (incremental decoding: new tokens after a key/value cache of
 * keys − t positions): [1, 1, t, keys], query i sees key j when j <= keys − t + i.
 */
export function causalMask(t: number, keys = t): tf.Tensor4D {
  if (keys === t) return prefixLmMask(t, 0);
  checkLength("causalMask", t);
  if (!Number.isInteger(keys) || keys < t) throw new Error(`causalMask: keys (${keys}) must be an integer >= the number of queries (${t}).`);
  const past = keys - t;
  const values = new Float32Array(t * keys);
  for (let i = 0; i < t; i++) for (let j = 0; j < keys; j++) values[i * keys + j] = j <= past + i ? 0 : MASK_NEG;
  return tf.tensor4d(values, [1, 1, t, keys]);
}

/**
 * Prefix LM (Raffel et al. 2020, T5 §3.2.1): full attention inside the prefix (the input), causal after it
 * (the target). Query i may see key j when j <= i or j < prefixLen. prefixLen 0 gives the causal mask and
 * prefixLen t full attention.
 *   prefixLen: number        -> [1, 1, t, t]   (same prefix for the whole batch)
 *   prefixLen: number[] (b)  -> [b, 1, t, t]   (one prefix length per example)
 */
export function prefixLmMask(t: number, prefixLen: number | number[]): tf.Tensor4D {
  checkLength("prefixLmMask", t);
  const lens = typeof prefixLen === "number" ? [prefixLen] : prefixLen;
  if (lens.length === 0) throw new Error("prefixLmMask: prefixLen must be a number or a non-empty array of numbers.");
  for (const p of lens) {
    if (!Number.isInteger(p) || p < 0 || p > t) {
      throw new Error(`prefixLmMask: prefix length (${p}) must be an integer in [0, ${t}] for sequences of length ${t}.`);
    }
  }
  const values = new Float32Array(lens.length * t * t);
  lens.forEach((p, b) => {
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) values[(b * t + i) * t + j] = j <= i || j < p ? 0 : MASK_NEG;
    }
  });
  return tf.tensor4d(values, [lens.length, 1, t, t]);
}

/**
 * Add additive masks (undefined ones are skipped); shapes broadcast, e.g. paddingMask [b,1,1,t] +
 * causalMask [1,1,t,t] -> [b,1,t,t]. Returns undefined if none is given, and the mask itself (not a copy) if one is.
 */
export function combineMasks(...masks: (tf.Tensor | undefined)[]): tf.Tensor | undefined {
  const present = masks.filter((m): m is tf.Tensor => m !== undefined);
  if (present.length === 0) return undefined;
  const broadcast: number[] = [1, 1, 1, 1];
  for (const m of present) {
    const fits = m.rank === 4 && m.shape.every((d, i) => d === 1 || broadcast[i] === 1 || d === broadcast[i]);
    if (!fits) {
      throw new Error(
        `combineMasks: masks of shapes ${present.map((x) => shapeText(x.shape)).join(" and ")} do not broadcast together: each must be ` +
          `[batch|1, heads|1, tq|1, tk] for the same batch and lengths (build them with paddingMask, causalMask or prefixLmMask).`,
      );
    }
    m.shape.forEach((d, i) => (broadcast[i] = Math.max(broadcast[i], d)));
  }
  if (present.length === 1) return present[0];
  return tf.tidy(() => present.reduce((acc, m) => tf.add(acc, m)));
}

function checkMask(mask: tf.Tensor, target: number[]): void {
  const ok = mask.rank === 4 && mask.shape.every((d, i) => d === 1 || d === target[i]);
  if (!ok) {
    throw new Error(
      `attention mask of shape [${mask.shape}] does not broadcast to scores [${target}] ([batch, heads, tq, tk]): ` +
        `build it with paddingMask, causalMask or prefixLmMask.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scaled dot-product attention.

export interface AttentionOptions {
  /** Additive mask broadcastable to [batch, heads, tq, tk]. */
  mask?: tf.Tensor;
  /** Dropout on the attention weights (default 0); active only when `training`. Needs `rng`. */
  dropout?: number;
  training?: boolean;
  rng?: Rng;
}

export interface AttentionResult {
  /** [batch, heads, tq, dv] */
  output: tf.Tensor4D;
  /** [batch, heads, tq, tk]: each row sums to 1 (before dropout, which is never shown in plots). */
  weights: tf.Tensor4D;
}

/**
 * softmax(q·kᵀ / √dk + mask) · v.
 *   q: [batch, heads, tq, dk], k: [batch, heads, tk, dk], v: [batch, heads, tk, dv]
 *   -> output [batch, heads, tq, dv], weights [batch, heads, tq, tk]
 * A row whose keys are all masked gets (nearly) uniform weights rather than NaN.
 */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts: AttentionOptions = {},
): AttentionResult {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(
      `scaledDotProductAttention expects rank-4 q, k, v ([batch, heads, time, dim]), got [${q.shape}], [${k.shape}], [${v.shape}].`,
    );
  }
  const [b, h, tq, dk] = q.shape;
  const ok =
    k.shape[0] === b && k.shape[1] === h && k.shape[3] === dk &&
    v.shape[0] === b && v.shape[1] === h && v.shape[2] === k.shape[2];
  if (!ok) {
    throw new Error(
      `scaledDotProductAttention shapes disagree: q [${q.shape}], k [${k.shape}], v [${v.shape}]; ` +
        `need q [b,h,tq,dk], k [b,h,tk,dk], v [b,h,tk,dv].`,
    );
  }
  if (opts.mask) checkMask(opts.mask, [b, h, tq, k.shape[2] as number]);
  const rate = opts.dropout ?? 0;
  if (opts.training && rate > 0 && !opts.rng) throw new Error("scaledDotProductAttention: dropout needs an rng.");
  return tf.tidy(() => {
    // One batched matmul with transposeB: no explicit transpose of k (the fast BatchMatMul route).
    let scores = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), 1 / Math.sqrt(dk));
    if (opts.mask) scores = tf.add(scores, opts.mask);
    const weights = tf.softmax(scores) as tf.Tensor4D;
    const used = opts.rng ? dropout(weights, rate, opts.training ?? false, opts.rng) : weights;
    const output = tf.matMul(used as tf.Tensor4D, v as tf.Tensor4D) as tf.Tensor4D;
    return { output, weights };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Heads: one wide projection viewed as `heads` narrow ones.

/** x: [batch, time, width] -> [batch, heads, time, width/heads]: reshape, then move heads before time. */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  if (x.rank !== 3 || d % heads !== 0) {
    throw new Error(`splitHeads expects [batch, time, width] with width divisible by heads (${heads}), got [${x.shape}].`);
  }
  return tf.tidy(() => tf.transpose(tf.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]) as tf.Tensor4D);
}

/** The inverse of splitHeads: [batch, heads, time, dh] -> [batch, time, heads*dh] (heads side by side). */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  if (x.rank !== 4) throw new Error(`mergeHeads expects [batch, heads, time, dh], got [${x.shape}].`);
  const [b, h, t, dh] = x.shape;
  return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, h * dh]) as tf.Tensor3D);
}

/** Head counts that divide width, for error messages: divisors(128) = [1, 2, 4, ..., 128]. */
export function validHeadCounts(width: number): number[] {
  const out: number[] = [];
  for (let h = 1; h <= width; h++) if (width % h === 0) out.push(h);
  return out;
}

export interface MultiHeadAttentionOptions {
  width: number;
  heads: number;
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  seed?: number;
}

/**
 * Keys and values already projected and split into heads, each [batch, heads, time, width/heads]: the cache of
 * incremental decoding (a decoder's past positions), or a context's keys and values computed once.
 */
export type KeyValues = {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
};

export interface MultiHeadApplyOptions {
  /**
   * Cross-attention: keys and values come from `context` [batch, tk, width] (e.g. an encoder's output),
   * queries from x. Omit for self-attention (context = x).
   */
  context?: tf.Tensor;
  /** Additive mask broadcastable to [batch, heads, tq, tk]. */
  mask?: tf.Tensor;
  training?: boolean;
  /** Also return the attention weights [batch, heads, tq, tk] (for plots). */
  returnWeights?: boolean;
  /**
   * Self-attention with a cache: the keys and values of the positions before x, [batch, heads, tPast, dh]. They
   * are put in front of x's own, so tk = tPast + tq; the mask must cover all tk keys.
   */
  past?: KeyValues;
  /** Cross-attention with keys and values computed once (`keyValuesOf(context)`), instead of `context`. */
  keyValues?: KeyValues;
  /** Also return the keys and values attended over (past and x's): the cache for the next step. */
  returnKeyValues?: boolean;
}

export type MultiHeadResult = {
  /** [batch, tq, width] */
  output: tf.Tensor3D;
  /** [batch, heads, tq, tk], only when returnWeights. */
  weights?: tf.Tensor4D;
  /** [batch, heads, tk, dh] each, only when returnKeyValues. */
  keyValues?: KeyValues;
};

/**
 * Multi-head attention with ONE fused input weight wQkv: [width, 3*width] (+ bias bQkv: [3*width]).
 * Its columns are [ Q | K | V ], each `width` wide; each of those is chunked into `heads` views of
 * width/heads columns by splitHeads — a reshape, not separate weights. Heads are like a CNN's many filters:
 * several different views of the same token. The heads' outputs are merged and mixed by `output` [width, width].
 *
 * Cross-attention uses the SAME fused weight: the Q columns project x, the K and V columns project the
 * context. With context = x this is exactly self-attention, so one class (one parameter layout, one set of
 * tests) serves both; a decoder that needs both kinds simply owns two MultiHeadAttention modules.
 */
export class MultiHeadAttention extends Module {
  readonly width: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dropoutRate: number;
  readonly wQkv: tf.Variable;
  readonly bQkv: tf.Variable;
  readonly output: Linear;
  private readonly rng: Rng;

  constructor(opts: MultiHeadAttentionOptions) {
    super();
    const { width, heads } = opts;
    if (!Number.isInteger(width) || width <= 0) throw new Error(`MultiHeadAttention width (${width}) must be a positive integer.`);
    if (!Number.isInteger(heads) || heads <= 0) throw new Error(`MultiHeadAttention heads (${heads}) must be a positive integer.`);
    if (width % heads !== 0) {
      throw new Error(`heads (${heads}) must divide width (${width}): try ${validHeadCounts(width).join(", ")}.`);
    }
    const rate = opts.dropout ?? 0;
    if (!(rate >= 0 && rate < 1)) throw new Error(`MultiHeadAttention dropout (${rate}) must be in [0, 1).`);
    this.width = width;
    this.heads = heads;
    this.headDim = width / heads;
    this.dropoutRate = rate;
    const rng = new Rng(opts.seed ?? 0);
    // Initialise Q, K and V like three separate [width, width] layers, then lay them side by side.
    const blocks = [0, 1, 2].map(() => glorotUniform([width, width], rng));
    this.wQkv = this.addParam("wQkv", tf.concat(blocks, 1));
    blocks.forEach((t) => t.dispose());
    this.bQkv = this.addParam("bQkv", tf.zeros([3 * width]));
    this.output = this.addChild("output", new Linear({ inDim: width, outDim: width, seed: rng.seed() }));
    this.rng = rng.fork();
  }

  /** Flattened 2-D matmul with bias: x [b, t, width] · w [width, n] + bias [n] -> [b, t, n]. */
  private project(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
    const [b, t, d] = x.shape;
    const y = tf.add(tf.matMul(tf.reshape(x, [b * t, d]) as tf.Tensor2D, w as tf.Tensor2D), bias);
    return tf.reshape(y, [b, t, w.shape[1] as number]) as tf.Tensor3D;
  }

  private checkInput(what: string, x: tf.Tensor): void {
    if (x.rank !== 3 || x.shape[2] !== this.width) {
      throw new Error(`MultiHeadAttention ${what} must be [batch, time, ${this.width}], got [${x.shape}].`);
    }
  }

  /**
   * The fused projection, split into Q, K, V and chunked into heads.
   * x: [batch, tq, width], context (default x): [batch, tk, width]
   *   -> q [batch, heads, tq, width/heads], k and v [batch, heads, tk, width/heads]
   */
  qkv(x: tf.Tensor, context?: tf.Tensor): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D } {
    this.checkInput("input x", x);
    if (context) {
      this.checkInput("context", context);
      if (context.shape[0] !== x.shape[0]) {
        throw new Error(`MultiHeadAttention context batch (${context.shape[0]}) must equal x batch (${x.shape[0]}).`);
      }
    }
    const d = this.width;
    return tf.tidy(() => {
      let qPart: tf.Tensor, kPart: tf.Tensor, vPart: tf.Tensor;
      if (!context) {
        // Self-attention: one matmul [b*t, d]·[d, 3d], then the 3 splits into Q, K, V.
        [qPart, kPart, vPart] = tf.split(this.project(x, this.wQkv, this.bQkv), 3, 2);
      } else {
        // Cross-attention: the Q columns for x, the K|V columns for the context.
        qPart = this.project(x, tf.slice(this.wQkv, [0, 0], [d, d]), tf.slice(this.bQkv, [0], [d]));
        [kPart, vPart] = this.keyValueParts(context);
      }
      return { q: splitHeads(qPart, this.heads), k: splitHeads(kPart, this.heads), v: splitHeads(vPart, this.heads) };
    });
  }

  /** The K|V columns applied to a context [batch, tk, width] -> K and V, each [batch, tk, width]. */
  private keyValueParts(context: tf.Tensor): tf.Tensor[] {
    const d = this.width;
    return tf.split(this.project(context, tf.slice(this.wQkv, [0, d], [d, 2 * d]), tf.slice(this.bQkv, [d], [2 * d])), 2, 2);
  }

  /**
   * Keys and values of a context, computed ONCE for all the queries that will attend to it (a decoder's
   * cross-attention over the encoder output, step after step). context: [batch, tk, width] -> k, v [batch, heads, tk, dh].
   */
  keyValuesOf(context: tf.Tensor): KeyValues {
    this.checkInput("context", context);
    return tf.tidy(() => {
      const [k, v] = this.keyValueParts(context);
      return { k: splitHeads(k, this.heads), v: splitHeads(v, this.heads) };
    });
  }

  private checkCache(what: string, kv: KeyValues, batch: number): void {
    const ok = (t: tf.Tensor) => t.rank === 4 && t.shape[0] === batch && t.shape[1] === this.heads && t.shape[3] === this.headDim;
    if (!ok(kv.k) || !ok(kv.v) || kv.k.shape[2] !== kv.v.shape[2]) {
      throw new Error(`MultiHeadAttention ${what} must hold k and v of shape [${batch}, ${this.heads}, time, ${this.headDim}], got [${kv.k.shape}] and [${kv.v.shape}].`);
    }
  }

  /**
   * x: [batch, tq, width] (context: [batch, tk, width]) -> {output [batch, tq, width], weights? [batch, heads, tq, tk],
   * keyValues? [batch, heads, tk, dh]}. With `past` (self-attention) or `keyValues` (cross-attention) the keys and
   * values come from a cache instead of being recomputed: incremental decoding, same numbers.
   */
  apply(x: tf.Tensor, opts: MultiHeadApplyOptions = {}): MultiHeadResult {
    if (opts.keyValues && (opts.context || opts.past)) throw new Error("MultiHeadAttention: give keyValues (cross-attention from a cache) without context or past.");
    if (opts.past && opts.context) throw new Error("MultiHeadAttention: past is a self-attention cache; cross-attention takes context or keyValues.");
    if (opts.past) this.checkCache("past", opts.past, x.shape[0]);
    if (opts.keyValues) this.checkCache("keyValues", opts.keyValues, x.shape[0]);
    return tf.tidy(() => {
      let q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D;
      if (opts.keyValues) {
        this.checkInput("input x", x);
        q = splitHeads(this.project(x, tf.slice(this.wQkv, [0, 0], [this.width, this.width]), tf.slice(this.bQkv, [0], [this.width])), this.heads);
        ({ k, v } = opts.keyValues);
      } else {
        ({ q, k, v } = this.qkv(x, opts.context));
        if (opts.past) {
          k = tf.concat([opts.past.k, k], 2);
          v = tf.concat([opts.past.v, v], 2);
        }
      }
      const att = scaledDotProductAttention(q, k, v, {
        mask: opts.mask,
        dropout: this.dropoutRate,
        training: opts.training ?? false,
        rng: this.rng,
      });
      const output = this.output.apply(mergeHeads(att.output)) as tf.Tensor3D;
      const out: MultiHeadResult = { output };
      if (opts.returnWeights) out.weights = att.weights;
      // A cache passed through (keyValues) is returned as a clone: the caller may dispose what it gets back.
      if (opts.returnKeyValues) out.keyValues = opts.keyValues ? { k: tf.clone(k), v: tf.clone(v) } : { k, v };
      return out;
    });
  }
}
