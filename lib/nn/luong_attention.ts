// Luong et al. (2015), "Effective Approaches to Attention-based Neural Machine Translation", §3.1: global
// attention for an RNN decoder. At target step t the decoder's top hidden state h_t (the query) scores every
// encoder output h̄_s (the memory), a softmax over the source turns the scores into alignment weights
//   a_t(s) = softmax_s score(h_t, h̄_s)                              (eq. 7)
// the context is their weighted average c_t = Σ_s a_t(s) h̄_s, and the attentional hidden state
//   h̃_t = tanh(W_c [c_t ; h_t])                                      (eq. 5)
// is what predicts the next word (p(y_t | ...) = softmax(W_s h̃_t), eq. 6) and, with input feeding (§3.3), what
// the decoder reads at the next step. The three scores (eq. 8):
//   dot      h_tᵀ h̄_s                      no parameters; query and memory must have the same width
//   general  h_tᵀ W_a h̄_s                  a bilinear form
//   concat   v_aᵀ tanh(W_a [h_t ; h̄_s])    a one-hidden-layer MLP (Bahdanau et al. 2015's "additive" score)
// Padding of the source is masked: its weight is exactly 0.
//
// Work that depends only on the memory is done once per source (`prepare`): W_a h̄_s for "general", and the
// memory half of W_a [h_t ; h̄_s] for "concat". Each decoder step then costs one batched product.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { Linear } from "./layers";
import { MASK_NEG } from "./attention";
import { Rng } from "../random";

export type LuongScore = "dot" | "general" | "concat";
export const LUONG_SCORES: readonly LuongScore[] = ["dot", "general", "concat"];

export interface LuongAttentionOptions {
  score: LuongScore;
  /** Width of the decoder state h_t. */
  queryDim: number;
  /** Width of the encoder outputs h̄_s (must equal queryDim for "dot"). */
  memoryDim: number;
  /** Hidden width of the "concat" MLP (default queryDim). */
  attentionDim?: number;
  /** Width of h̃_t (default queryDim). */
  outputDim?: number;
  seed?: number;
}

/** The per-source precomputation: keys to score against, the memory to average, the padding mask. */
export interface AttentionMemory {
  /** [batch, srcTime, memoryDim] encoder outputs h̄ */
  memory: tf.Tensor3D;
  /** [batch, srcTime, keyDim]: h̄ (dot), W_a h̄ (general), the memory half of W_a[h; h̄] (concat) */
  keys: tf.Tensor3D;
  /** [batch, 1, srcTime] additive mask: 0 at real source tokens, -1e9 at padding */
  bias: tf.Tensor3D;
}

/** The additive mask of a padding mask: mask [batch, srcTime] (1 real, 0 pad) → [batch, 1, srcTime]. */
export function sourceBias(mask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => tf.mul(tf.sub(mask, 1), -MASK_NEG).expandDims(1) as tf.Tensor3D);
}

export interface AttentionStep {
  /** c_t: [batch, memoryDim], or [batch, tgtTime, memoryDim] for a sequence of queries */
  context: tf.Tensor;
  /** a_t: [batch, srcTime] or [batch, tgtTime, srcTime]; rows sum to 1, exactly 0 at padding */
  weights: tf.Tensor;
}

export class LuongAttention extends Module {
  readonly score: LuongScore;
  readonly queryDim: number;
  readonly memoryDim: number;
  readonly outputDim: number;
  /** W_a of "general" ([memoryDim → queryDim]) or the memory half of "concat"'s W_a. */
  readonly wMemory?: Linear;
  /** The query half of "concat"'s W_a. */
  readonly wQuery?: Linear;
  /** v_a of "concat". */
  readonly v?: Linear;
  /** W_c of eq. 5: [c ; h] → h̃. */
  readonly combine: Linear;

  constructor(opts: LuongAttentionOptions) {
    super();
    if (!LUONG_SCORES.includes(opts.score)) throw new Error(`attention score "${opts.score}" is unknown: use one of ${LUONG_SCORES.join(", ")}.`);
    for (const k of ["queryDim", "memoryDim"] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new Error(`LuongAttention ${k} (${opts[k]}) must be a positive integer.`);
    }
    if (opts.score === "dot" && opts.queryDim !== opts.memoryDim) {
      throw new Error(`the "dot" score needs queryDim (${opts.queryDim}) = memoryDim (${opts.memoryDim}): use "general" or "concat", or match the widths.`);
    }
    this.score = opts.score;
    this.queryDim = opts.queryDim;
    this.memoryDim = opts.memoryDim;
    this.outputDim = opts.outputDim ?? opts.queryDim;
    const rng = new Rng(opts.seed ?? 0);
    if (opts.score === "general") {
      this.wMemory = this.addChild("wA", new Linear({ inDim: opts.memoryDim, outDim: opts.queryDim, bias: false, seed: rng.seed() }));
    } else if (opts.score === "concat") {
      const a = opts.attentionDim ?? opts.queryDim;
      // W_a [h; h̄] = W_q h + W_m h̄: split so the memory half is computed once per source.
      this.wQuery = this.addChild("wAQuery", new Linear({ inDim: opts.queryDim, outDim: a, bias: false, seed: rng.seed() }));
      this.wMemory = this.addChild("wAMemory", new Linear({ inDim: opts.memoryDim, outDim: a, bias: true, seed: rng.seed() }));
      this.v = this.addChild("vA", new Linear({ inDim: a, outDim: 1, bias: false, seed: rng.seed() }));
    }
    this.combine = this.addChild("wC", new Linear({ inDim: opts.memoryDim + opts.queryDim, outDim: this.outputDim, bias: false, seed: rng.seed() }));
  }

  /** Once per source: memory [batch, srcTime, memoryDim], mask [batch, srcTime] → AttentionMemory. */
  prepare(memory: tf.Tensor3D, mask: tf.Tensor2D): AttentionMemory {
    const [b, t, d] = memory.shape;
    if (d !== this.memoryDim) throw new Error(`attention memory has width ${d}, expected memoryDim ${this.memoryDim}.`);
    if (mask.shape[0] !== b || mask.shape[1] !== t) throw new Error(`attention mask [${mask.shape}] must be [batch, srcTime] = [${b}, ${t}].`);
    const keys = this.wMemory ? (this.wMemory.apply(memory) as tf.Tensor3D) : memory;
    return { memory, keys, bias: sourceBias(mask) };
  }

  /**
   * Raw scores score(h_t, h̄_s) for every source position. query [batch, queryDim] → [batch, srcTime]; or a whole
   * sequence of queries at once (teacher forcing without input feeding): [batch, tgtTime, queryDim] →
   * [batch, tgtTime, srcTime].
   */
  scores(query: tf.Tensor, m: AttentionMemory): tf.Tensor {
    return tf.tidy(() => {
      if ((query.rank !== 2 && query.rank !== 3) || query.shape[query.rank - 1] !== this.queryDim) {
        throw new Error(`attention query has shape [${query.shape}], expected [batch, ${this.queryDim}] or [batch, tgtTime, ${this.queryDim}] (queryDim).`);
      }
      const q = query.rank === 2 ? query.expandDims(1) : query; // [b, T, dq]
      let s: tf.Tensor; // [b, T, S]
      if (this.score === "concat") {
        // v_aᵀ tanh(W_q h_t + W_m h̄_s) for every (t, s): [b, T, 1, a] + [b, 1, S, a].
        const hidden = tf.tanh(tf.add(this.wQuery!.apply(q).expandDims(2), m.keys.expandDims(1)));
        s = this.v!.apply(hidden).squeeze([3]);
      } else {
        // dot and general: ⟨h_t, key_s⟩ for every (t, s), one batched matrix product.
        s = tf.matMul(q, m.keys, false, true);
      }
      return query.rank === 2 ? s.squeeze([1]) : s;
    });
  }

  /** Alignment weights and context (eq. 7 and c_t), for one query per row or a sequence of them (see scores). */
  attend(query: tf.Tensor, m: AttentionMemory): AttentionStep {
    return tf.tidy(() => {
      const s = this.scores(query, m);
      // Additive mask: padding scores get -1e9, so their softmax weight is exp(-1e9) = 0.
      const weights = tf.softmax(tf.add(s.rank === 2 ? s.expandDims(1) : s, m.bias)); // [b, T, S]
      const context = tf.matMul(weights, m.memory); // [b, T, dm]
      return s.rank === 2 ? { context: context.squeeze([1]), weights: weights.squeeze([1]) } : { context, weights };
    });
  }

  /** h̃_t = tanh(W_c [c_t ; h_t]) (eq. 5): context [..., memoryDim], query [..., queryDim] → [..., outputDim]. */
  attentionalState(context: tf.Tensor, query: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.tanh(this.combine.apply(tf.concat([context, query], -1))));
  }
}
