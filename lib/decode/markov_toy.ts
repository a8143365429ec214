// A toy "model" for the decoders whose right answer is obvious: the next-token distribution depends only on the
// previous token (a first-order Markov chain over the target vocabulary), given as a table of probabilities. The
// probability of any output is a product you can do by hand, so it shows where greedy decoding goes wrong and
// beam search does not:
//
//   const toy = new MarkovStepModel({ transitions: {
//     [BOS_ID]: { 7: 0.6, 8: 0.4 },                  // from the start: "a" 0.6, "b" 0.4
//     7: { 7: 0.34, 8: 0.33, [EOS_ID]: 0.33 },       // after "a": more "a" is always (slightly) the best bet...
//     8: { [EOS_ID]: 0.9, 7: 0.05, 8: 0.05 },        // after "b": stop
//   } });
//   greedyDecode(toy, [[9]])           // "a a a a ..." until maxLength: each step's best token, never EOS
//   beamSearch(toy, [[9]], { beamSize: 2 })   // "b" EOS first: 0.4 · 0.9 = 0.36, the most probable output
//
// It implements the course's StepDecoder (step.ts) with a per-row carry (a step counter) and memory (the source
// length), like a real model, so a decoder must reorder and free its state as it would for an RNN. It counts its
// steps, so a test can tell when a search stopped. Homework 3 (homework/source/hw_seq2seq) checks students' beam
// search on it.
import * as tf from "@tensorflow/tfjs";
import { BOS_ID, EOS_ID } from "../data/vocab";
import { DecoderState, StepDecoder, StepOutput } from "./step";

export interface MarkovStepModelOptions {
  /**
   * transitions[prev][next] = p(next | prev). Each given row must sum to 1 (within 1e-6); a token with no row
   * is always followed by EOS. Probabilities of 0 are allowed (log-probability -1e9 rather than -∞, so scores
   * stay finite).
   */
  transitions: Record<number, Record<number, number>>;
  /** Target vocabulary size (default: one more than the largest id used, at least EOS_ID + 1). */
  vocabSize?: number;
  /** The default decoding limit: tokens before EOS (default 8). */
  maxTargetLen?: number;
}

/** log p for a probability, with 0 mapped to a large finite negative number. */
const logOf = (p: number): number => (p > 0 ? Math.log(p) : -1e9);

export class MarkovStepModel implements StepDecoder {
  readonly targetVocabSize: number;
  readonly maxTargetLen: number;
  /** How many times decodeStep ran (a search that stops early calls it less). */
  steps = 0;
  /** log p(next | prev) as numbers, [V][V]. */
  private readonly logTable: number[][];
  private readonly table: tf.Tensor2D;

  constructor(opts: MarkovStepModelOptions) {
    if (!opts || typeof opts.transitions !== "object" || opts.transitions === null) {
      throw new Error("MarkovStepModel needs { transitions: { [prev]: { [next]: probability } } }.");
    }
    const ids: number[] = [];
    for (const [prev, row] of Object.entries(opts.transitions)) {
      ids.push(Number(prev), ...Object.keys(row).map(Number));
      const total = Object.values(row).reduce((a, b) => a + b, 0);
      if (Object.values(row).some((p) => !(p >= 0 && p <= 1)) || Math.abs(total - 1) > 1e-6) {
        throw new Error(`MarkovStepModel: the probabilities after token ${prev} must be in [0, 1] and sum to 1 (they sum to ${total}).`);
      }
    }
    if (ids.some((i) => !Number.isInteger(i) || i < 0)) throw new Error(`MarkovStepModel: token ids must be integers >= 0 (got ${ids.filter((i) => !Number.isInteger(i) || i < 0)[0]}).`);
    const needed = Math.max(EOS_ID, ...ids) + 1;
    this.targetVocabSize = opts.vocabSize ?? needed;
    if (!Number.isInteger(this.targetVocabSize) || this.targetVocabSize < needed) {
      throw new Error(`MarkovStepModel vocabSize (${opts.vocabSize}) must be an integer >= ${needed} (the largest id used + 1).`);
    }
    this.maxTargetLen = opts.maxTargetLen ?? 8;
    if (!Number.isInteger(this.maxTargetLen) || this.maxTargetLen < 1) throw new Error(`MarkovStepModel maxTargetLen (${opts.maxTargetLen}) must be a positive integer.`);
    const V = this.targetVocabSize;
    this.logTable = Array.from({ length: V }, (_, prev) => {
      const row = opts.transitions[prev] ?? { [EOS_ID]: 1 };
      return Array.from({ length: V }, (_, next) => logOf(row[next] ?? 0));
    });
    this.table = tf.keep(tf.tensor2d(this.logTable));
  }

  /** log p(tokens, then EOS if finished | BOS): the score a decoder should report for this output. */
  logProbOf(tokens: readonly number[], finished = true): number {
    let lp = 0;
    let prev = BOS_ID;
    for (const t of [...tokens, ...(finished ? [EOS_ID] : [])]) {
      if (!Number.isInteger(t) || t < 0 || t >= this.targetVocabSize) throw new Error(`logProbOf: token ${t} is outside the vocabulary [0, ${this.targetVocabSize}).`);
      lp += this.logTable[prev][t];
      prev = t;
    }
    return lp;
  }

  beginDecoding(sources: number[][]): DecoderState {
    return {
      carry: { step: tf.zeros([sources.length, 1]) },
      memory: { sourceLength: tf.tensor2d(sources.map((s) => [s.length])) },
    };
  }

  decodeStep(prevTokens: tf.Tensor1D, state: DecoderState): StepOutput {
    this.steps++;
    return tf.tidy(() => ({ logits: tf.gather(this.table, prevTokens) as tf.Tensor2D, carry: { step: tf.add(state.carry.step, 1) } }));
  }

  dispose(): void {
    this.table.dispose();
  }
}
