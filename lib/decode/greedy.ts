// Greedy decoding: at every step take the single most probable next token, ŷ_t = argmax_y p(y | ŷ_<t, x).
// Fast and usually good, but not the most probable SEQUENCE: a token that looks best now can lead to a poor
// continuation (beam_search.ts keeps k candidates to hedge against that).
//
// The loop is shared with sampling (sampling.ts), which differs only in how a row's next token is picked.
// Batched: every row runs in one tensor; a row that has produced EOS leaves the batch (its state rows are
// dropped), so a long output never makes the finished ones pay, and no row's result depends on the others.
import * as tf from "@tensorflow/tfjs";
import { BOS_ID, EOS_ID } from "../data/vocab";
import { DecoderState, StepDecoder, advance, disposeState, selectState } from "./step";

/** One decoded output. */
export interface Hypothesis {
  /** Generated ids, without BOS and without the final EOS. */
  tokens: number[];
  /** log p(tokens, EOS | source): the sum of each chosen token's log-probability (EOS included when finished). */
  logProb: number;
  /** What the search ranked by: logProb for greedy and sampling, logProb / lengthPenalty for beam search. */
  score: number;
  /** True when the output ended with EOS; false when it hit maxLength first. */
  finished: boolean;
  /** Attention over the source at each generated step, [steps][srcLen], when asked for and the model has it. */
  attention?: number[][];
}

export interface StepLoopOptions {
  /** Most tokens to generate, EOS included (default: the model's maxTargetLen + 1). */
  maxLength?: number;
  /** Keep each step's attention weights (default false). */
  returnAttention?: boolean;
}

export function resolveMaxLength(model: StepDecoder, maxLength: number | undefined): number {
  const n = maxLength ?? model.maxTargetLen + 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`maxLength (${n}) must be a positive integer (tokens to generate, EOS included).`);
  const cap = model.maxDecodeLength;
  if (cap !== undefined && n > cap) {
    throw new Error(`maxLength (${n}) is more than this model can generate: ${cap} tokens (its absolute position embeddings end at maxTargetLen + 1). ` +
      `Pass maxLength <= ${cap}, or build the model with a larger maxTargetLen.`);
  }
  return n;
}

export function checkSources(sources: number[][]): void {
  if (!Array.isArray(sources) || sources.length === 0) throw new Error("decoding needs at least one source (an array of id arrays).");
  sources.forEach((s, i) => {
    if (!Array.isArray(s) || s.length === 0) throw new Error(`source ${i} is empty: a seq2seq model needs at least one source token.`);
  });
}

/**
 * Picks the next token of each row from its log-probabilities logp [rows, V] (inside tf.tidy). `rows` gives the
 * original index of each row, for per-example random streams. Returns the tokens and their log-probabilities.
 */
export type TokenPicker = (logp: tf.Tensor2D, rows: number[]) => { tokens: number[]; logProbs: number[] };

/** The decoding loop with one hypothesis per source; `pick` chooses each row's next token. */
export function decodeOnePerRow(model: StepDecoder, sources: number[][], pick: TokenPicker, opts: StepLoopOptions = {}): Hypothesis[] {
  checkSources(sources);
  const maxLength = resolveMaxLength(model, opts.maxLength);
  const out: Hypothesis[] = sources.map(() => ({ tokens: [], logProb: 0, score: 0, finished: false, ...(opts.returnAttention ? { attention: [] } : {}) }));
  let state: DecoderState = model.beginDecoding(sources);
  let active = sources.map((_, i) => i); // original index of each row
  let prev = new Array<number>(sources.length).fill(BOS_ID);
  try {
    for (let step = 0; step < maxLength && active.length > 0; step++) {
      const next = advance(model, prev, state, "decoding");
      const step_ = next.output;
      state = next.state;
      const picked = tf.tidy(() => pick(tf.logSoftmax(step_.logits) as tf.Tensor2D, active));
      const attn = opts.returnAttention && step_.attention ? (step_.attention.arraySync() as number[][]) : null;
      step_.logits.dispose();
      step_.attention?.dispose();
      const keep: number[] = [];
      active.forEach((orig, r) => {
        const h = out[orig];
        const tok = picked.tokens[r];
        h.logProb += picked.logProbs[r];
        if (attn) h.attention!.push(attn[r]);
        if (tok === EOS_ID) h.finished = true;
        else (h.tokens.push(tok), keep.push(r));
      });
      if (keep.length < active.length && keep.length > 0) state = selectState(state, keep);
      active = keep.map((r) => active[r]);
      prev = keep.map((r) => picked.tokens[r]);
    }
  } finally {
    disposeState(state);
  }
  for (const h of out) h.score = h.logProb;
  return out;
}

/** The argmax of every row. */
export const argmaxPicker: TokenPicker = (logp) => {
  const best = tf.argMax(logp, 1);
  const lp = tf.max(logp, 1);
  return { tokens: Array.from(best.dataSync()), logProbs: Array.from(lp.dataSync()) };
};

/**
 * Greedy decoding of a batch of sources (ids without BOS/EOS) → one hypothesis per source.
 * Errors: an empty batch or source, maxLength < 1. See decodeAll for data sets of any size.
 */
export function greedyDecode(model: StepDecoder, sources: number[][], opts: StepLoopOptions = {}): Hypothesis[] {
  return decodeOnePerRow(model, sources, argmaxPicker, opts);
}
