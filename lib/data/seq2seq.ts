// The source/target pipeline of every sequence-to-sequence model in the course (lecture 5).
//
// Text pair → tokens (words, characters, or pre-split symbols) → ids in a source and a target vocabulary
// (shared or separate) → a padded batch with a padding mask on each side. The decoder is trained with
// TEACHER FORCING: at step t it reads the gold token y_{t-1} (not its own guess) and is scored on y_t, so the
// decoder input is the target shifted right behind [BOS] and the decoder target is the target followed by
// [EOS]:
//
//   target          y1  y2  y3
//   decoderInput    BOS y1  y2  y3
//   decoderTarget   y1  y2  y3  EOS
//   targetMask      1   1   1   1    (0 at padding: the loss counts real target tokens only)
//
// An example's ids never contain BOS or EOS; collation adds them, and decoding (lib/decode) starts from BOS and
// stops at EOS.
import * as tf from "@tensorflow/tfjs";
import { Vocab, BOS_ID, EOS_ID, PAD_ID, VocabJSON } from "./vocab";
import { charTokenize, detokenize, wordTokenize } from "./tokenize";
import { padIds } from "./batching";

/** One training pair as ids (no BOS/EOS). Tasks add fields (text, category); models read only these two. */
export interface Seq2SeqExample {
  source: number[];
  target: number[];
}

/** A collated batch (every tensor is disposed by the Trainer after the step). */
export type Seq2SeqBatch = {
  /** [batch, srcTime] int32, PAD_ID at padding */
  sourceIds: tf.Tensor2D;
  /** [batch, srcTime] float32: 1 = real source token */
  sourceMask: tf.Tensor2D;
  /** [batch, tgtTime] int32: BOS y1 .. yn (then PAD) */
  decoderInput: tf.Tensor2D;
  /** [batch, tgtTime] int32: y1 .. yn EOS (then PAD) */
  decoderTarget: tf.Tensor2D;
  /** [batch, tgtTime] float32: 1 where decoderTarget is a real token (EOS included) */
  targetMask: tf.Tensor2D;
};

export interface CollateOptions {
  /** Longest source kept; longer sources are truncated with a warning (default: no limit). */
  maxSourceLen?: number;
  /** Longest target kept (before EOS); longer targets are truncated with a warning (default: no limit). */
  maxTargetLen?: number;
  /** Where truncation warnings go (default console.warn). */
  warn?: (message: string) => void;
}

/** The teacher-forcing pair of one target: input = [BOS, ...target], output = [...target, EOS]. */
export function teacherForcing(target: readonly number[]): { input: number[]; output: number[] } {
  return { input: [BOS_ID, ...target], output: [...target, EOS_ID] };
}

function checkIds(ids: unknown, what: string, i: number): asserts ids is number[] {
  if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`example ${i}: ${what} must be an array of non-negative integer ids (encode the text with a Seq2SeqCodec).`);
  }
}

/**
 * Examples → a padded batch for teacher-forced training (see the top of this file).
 * Errors: an empty batch; an empty source (there is nothing to encode: drop the example); ids that are not
 * integers. A source or target longer than the limits is truncated, with one warning per batch that says how
 * many were cut (a documented truncation rather than an error, as long inputs are real data).
 */
export function collateSeq2Seq(examples: readonly Seq2SeqExample[], opts: CollateOptions = {}): Seq2SeqBatch {
  if (examples.length === 0) throw new Error("collateSeq2Seq got an empty batch: pass at least one example.");
  const maxS = opts.maxSourceLen ?? Infinity;
  const maxT = opts.maxTargetLen ?? Infinity;
  let cutS = 0;
  let cutT = 0;
  const sources: number[][] = [];
  const inputs: number[][] = [];
  const outputs: number[][] = [];
  const weights: number[][] = [];
  examples.forEach((e, i) => {
    checkIds(e?.source, "source", i);
    checkIds(e.target, "target", i);
    if (e.source.length === 0) throw new Error(`example ${i} has an empty source: a seq2seq model needs at least one source token (drop the example).`);
    if (e.source.length > maxS) cutS++;
    sources.push(e.source.slice(0, maxS));
    const cut = e.target.length > maxT;
    if (cut) cutT++;
    const pair = teacherForcing(e.target.slice(0, maxT));
    inputs.push(pair.input);
    outputs.push(pair.output);
    // A truncated target's last slot (EOS) gets weight 0: the model must not learn to stop where the data was cut.
    weights.push(pair.output.map((_, j) => (cut && j === pair.output.length - 1 ? 0 : 1)));
  });
  if (cutS || cutT) {
    (opts.warn ?? console.warn)(
      `collateSeq2Seq: truncated ${cutS} source(s) to ${maxS} and ${cutT} target(s) to ${maxT} tokens; ` +
        `raise maxSourceLen/maxTargetLen of the model to keep them whole.`,
    );
  }
  const src = padIds(sources);
  const dec = padIds(inputs);
  const out = padIds(outputs);
  const w = padIds(weights, { padId: 0 });
  const b = examples.length;
  return {
    sourceIds: tf.tensor2d(src.ids.flat(), [b, src.length], "int32"),
    sourceMask: tf.tensor2d(src.mask.flat(), [b, src.length], "float32"),
    decoderInput: tf.tensor2d(dec.ids.flat(), [b, dec.length], "int32"),
    decoderTarget: tf.tensor2d(out.ids.flat(), [b, dec.length], "int32"),
    targetMask: tf.tensor2d(w.ids.flat(), [b, dec.length], "float32"),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Text ↔ ids for both sides.

/**
 * How one side of a pair is split into tokens:
 *   "word"        lib/data/tokenize's wordTokenize (punctuation split off); joined back with detokenize
 *   "char"        one token per character (code point); joined back with ""
 *   "whitespace"  split on spaces only, for text that is already tokenized (COGS logical forms); joined with " "
 */
export type Tokenization = "word" | "char" | "whitespace";
export const TOKENIZATIONS: readonly Tokenization[] = ["word", "char", "whitespace"];

export interface SideOptions {
  tokenization: Tokenization;
  /** Lower-case before tokenizing (default false: translation is scored on cased text). */
  lowercase?: boolean;
}

export interface Seq2SeqCodecOptions {
  source: SideOptions;
  target: SideOptions;
  /** One vocabulary for both sides (default false). Needed when the model ties source and target embeddings. */
  shared?: boolean;
  /** Keep tokens seen at least this often in the training pairs (default 1). */
  minCount?: number;
  /** Largest vocabulary per side, specials included (default: no limit). */
  maxSize?: number;
}

export interface TextPair {
  source: string;
  target: string;
}

export interface Seq2SeqCodecJSON {
  kind: "nlu-course/seq2seq-codec";
  source: SideOptions;
  target: SideOptions;
  shared: boolean;
  sourceVocab: VocabJSON;
  targetVocab: VocabJSON;
}

function checkSide(what: string, s: SideOptions): void {
  if (!s || !TOKENIZATIONS.includes(s.tokenization)) {
    throw new Error(`${what}.tokenization "${s?.tokenization}" is unknown: use one of ${TOKENIZATIONS.join(", ")}.`);
  }
}

function tokenizeWith(side: SideOptions, text: string): string[] {
  if (typeof text !== "string") throw new Error(`expected text (a string), got ${typeof text}.`);
  const t = side.lowercase ? text.toLowerCase() : text;
  switch (side.tokenization) {
    case "word":
      return wordTokenize(t, { lowercase: false });
    case "char":
      return charTokenize(t);
    case "whitespace":
      return t.split(" ").filter((x) => x.length > 0);
  }
}

function joinWith(side: SideOptions, tokens: string[]): string {
  return side.tokenization === "char" ? tokens.join("") : side.tokenization === "word" ? detokenize(tokens) : tokens.join(" ");
}

/** Tokenizers and vocabularies for both sides of a seq2seq task, built from the training pairs. */
export class Seq2SeqCodec {
  private constructor(
    readonly sourceSide: SideOptions,
    readonly targetSide: SideOptions,
    readonly sourceVocab: Vocab,
    readonly targetVocab: Vocab,
    readonly shared: boolean,
  ) {}

  /** Fit the vocabularies on training pairs (never on test data). */
  static build(pairs: readonly TextPair[], opts: Seq2SeqCodecOptions): Seq2SeqCodec {
    checkSide("source", opts.source);
    checkSide("target", opts.target);
    if (!Array.isArray(pairs) || pairs.length === 0) throw new Error("Seq2SeqCodec.build needs at least one training pair {source, target}.");
    const src = pairs.map((p) => tokenizeWith(opts.source, p.source));
    const tgt = pairs.map((p) => tokenizeWith(opts.target, p.target));
    const vopts = { minCount: opts.minCount, maxSize: opts.maxSize };
    if (opts.shared) {
      const v = Vocab.build([...src, ...tgt], vopts);
      return new Seq2SeqCodec(opts.source, opts.target, v, v, true);
    }
    return new Seq2SeqCodec(opts.source, opts.target, Vocab.build(src, vopts), Vocab.build(tgt, vopts), false);
  }

  static fromJSON(json: Seq2SeqCodecJSON): Seq2SeqCodec {
    if (json?.kind !== "nlu-course/seq2seq-codec") throw new Error("Not a saved Seq2SeqCodec (expected kind 'nlu-course/seq2seq-codec').");
    const s = Vocab.fromJSON(json.sourceVocab);
    return new Seq2SeqCodec(json.source, json.target, s, json.shared ? s : Vocab.fromJSON(json.targetVocab), json.shared);
  }

  toJSON(): Seq2SeqCodecJSON {
    return {
      kind: "nlu-course/seq2seq-codec", source: this.sourceSide, target: this.targetSide, shared: this.shared,
      sourceVocab: this.sourceVocab.toJSON(), targetVocab: this.targetVocab.toJSON(),
    };
  }

  sourceTokens(text: string): string[] {
    return tokenizeWith(this.sourceSide, text);
  }

  targetTokens(text: string): string[] {
    return tokenizeWith(this.targetSide, text);
  }

  encodeSource(text: string): number[] {
    return this.sourceVocab.encode(this.sourceTokens(text));
  }

  encodeTarget(text: string): number[] {
    return this.targetVocab.encode(this.targetTokens(text));
  }

  /** A text pair → ids on both sides (no BOS/EOS; collation adds them). */
  encode(pair: TextPair): Seq2SeqExample {
    return { source: this.encodeSource(pair.source), target: this.encodeTarget(pair.target) };
  }

  /** Generated ids → target tokens: stops at the first EOS, drops BOS/PAD. */
  targetTokensOf(ids: readonly number[]): string[] {
    const end = ids.indexOf(EOS_ID);
    return this.targetVocab.decode((end < 0 ? ids : ids.slice(0, end)) as number[], { skipSpecial: true });
  }

  /** Generated ids → target text (joined as the side's tokenization joins: detokenized words, characters, spaces). */
  decodeTarget(ids: readonly number[]): string {
    return joinWith(this.targetSide, this.targetTokensOf(ids));
  }

  /** Source ids → text, for display. */
  decodeSource(ids: readonly number[]): string {
    return joinWith(this.sourceSide, this.sourceVocab.decode(ids as number[], { skipSpecial: true }));
  }

  /** Target text normalised the way decoding produces it (tokenized, then joined): the fair gold for exact match. */
  normaliseTarget(text: string): string {
    return joinWith(this.targetSide, this.targetTokens(text));
  }
}
