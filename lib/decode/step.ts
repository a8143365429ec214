// The contract between a sequence-to-sequence model and the course's decoders (greedy, beam search, sampling).
//
// A decoder never looks inside a model. It asks the model to encode the sources ONCE (`beginDecoding`), then
// calls `decodeStep` with the previous token of every row and the state that step returned last time. The
// state is carried from step to step, never recomputed from the start: for an RNN it is the hidden (and cell)
// state plus the attentional vector fed back as input; for a transformer it is the key/value cache of the
// tokens generated so far. That is what makes generation O(length), not O(length²) recomputation.
//
// State comes in two parts, both with one row per hypothesis on axis 0:
//   carry   changes every step (RNN h/c, input feeding vector, a growing key/value cache)
//   memory  fixed for the whole decode (the encoder's outputs, precomputed attention keys, the source mask)
// Beam search reorders `carry` rows every step (a hypothesis continues from its parent beam) but touches
// `memory` only when the set of rows changes — the beams of one source share one source.
import * as tf from "@tensorflow/tfjs";
import { throwIfInterrupted } from "../interrupt";

export type TensorRecord = Record<string, tf.Tensor>;

export interface DecoderState {
  /** Per-row tensors that change every step. Each [rows, ...]. */
  carry: TensorRecord;
  /** Per-row tensors fixed for the whole decode. Each [rows, ...]. */
  memory: TensorRecord;
}

export interface StepOutput {
  /** Unnormalised next-token scores: [rows, targetVocabSize]. */
  logits: tf.Tensor2D;
  /** The carry after this step (memory is unchanged by a step). */
  carry: TensorRecord;
  /** Attention over the source for this step, [rows, srcTime], for models that have it (plots only). */
  attention?: tf.Tensor2D;
}

/**
 * What every decodable seq2seq model implements (RnnSeq2Seq here; the transformer family of notebook 06 with
 * a key/value cache). Source ids carry no BOS/EOS; decoding starts from `BOS_ID` and ends at `EOS_ID`.
 */
export interface StepDecoder {
  readonly targetVocabSize: number;
  /** The longest target the model was built for: the default maximum decoding length. */
  readonly maxTargetLen: number;
  /**
   * The most tokens the model can generate at all, EOS included, when something caps it (a table of absolute
   * position embeddings ends there); undefined when nothing does (an RNN, relative position biases).
   */
  readonly maxDecodeLength?: number;
  /** Encode a batch of sources once: the state every row starts decoding from. */
  beginDecoding(sources: number[][]): DecoderState;
  /**
   * One step for every row: previous tokens [rows] int32 (BOS at the first step) and the carried state →
   * next-token logits and the new carry. Must not dispose its inputs; may return memory/carry tensors
   * unchanged (the decoder disposes only what is no longer referenced).
   */
  decodeStep(prevTokens: tf.Tensor1D, state: DecoderState): StepOutput;
}

/** Every tensor of a record, gathered on axis 0 by row index: the beams that continue, the examples still running. */
export function gatherRows(record: TensorRecord, rows: tf.Tensor1D): TensorRecord {
  const out: TensorRecord = {};
  for (const [k, t] of Object.entries(record)) out[k] = tf.gather(t, rows);
  return out;
}

/** Dispose the tensors of `old` that `next` does not hold (a step may pass tensors through unchanged). */
export function releaseReplaced(old: TensorRecord, next: TensorRecord): void {
  const kept = new Set(Object.values(next));
  for (const t of Object.values(old)) if (!kept.has(t) && !t.isDisposed) t.dispose();
}

export function disposeState(state: DecoderState): void {
  for (const t of [...Object.values(state.carry), ...Object.values(state.memory)]) if (!t.isDisposed) t.dispose();
}

/** Keep only `rows` of a state (both parts); the old state is disposed. */
export function selectState(state: DecoderState, rows: number[]): DecoderState {
  const idx = tf.tensor1d(rows, "int32");
  try {
    const next = { carry: gatherRows(state.carry, idx), memory: gatherRows(state.memory, idx) };
    disposeState(state);
    return next;
  } finally {
    idx.dispose();
  }
}

/** Check a StepDecoder's answer (a wrong shape would otherwise surface as a confusing tfjs error). */
export function checkStepOutput(out: StepOutput, rows: number, vocab: number): void {
  const [r, v] = out.logits.shape;
  if (r !== rows || v !== vocab) {
    throw new Error(`decodeStep returned logits of shape [${out.logits.shape}], expected [${rows}, ${vocab}] ([rows, targetVocabSize]).`);
  }
}

/**
 * One decoding step for every row, shared by the decoders: feed the previous tokens, check the answer, and
 * carry the new state forward (the old carry's tensors that the step replaced are released). The caller owns
 * and disposes `output.logits` and `output.attention`. Checks the stop button first.
 */
export function advance(model: StepDecoder, prevTokens: number[], state: DecoderState, what: string): { output: StepOutput; state: DecoderState } {
  throwIfInterrupted(what);
  const prev = tf.tensor1d(prevTokens, "int32");
  let output: StepOutput;
  try {
    output = model.decodeStep(prev, state);
  } finally {
    prev.dispose();
  }
  checkStepOutput(output, prevTokens.length, model.targetVocabSize);
  releaseReplaced(state.carry, output.carry);
  return { output, state: { carry: output.carry, memory: state.memory } };
}
