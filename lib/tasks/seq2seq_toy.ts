// Synthetic seq2seq tasks whose right answer is obvious (the annotated transformer's first test): COPY the
// source, or REVERSE it. A plain encoder-decoder must squeeze the whole source into its final state, so its
// accuracy falls as sources grow; attention looks each symbol up where it is — the bottleneck, measured.
//
// Symbols are the letters a, b, c, … (one vocabulary for both sides); ids follow the course's specials, so the
// examples go straight into any seq2seq model, and `toyVocab` turns ids back into letters.
import { Rng } from "../random";
import { SPECIALS, Vocab } from "../data/vocab";
import { Seq2SeqExample } from "../data/seq2seq";

export type ToyTask = "copy" | "reverse";
export const TOY_TASKS: readonly ToyTask[] = ["copy", "reverse"];

export interface ToyExample extends Seq2SeqExample {
  /** Source length (for accuracy-by-length curves). */
  length: number;
}

export interface ToyOptions {
  task?: ToyTask;
  count: number;
  /** Distinct symbols, 2..26 (default 10). */
  symbols?: number;
  /** Source length: a number, or [min, max] inclusive (default [3, 12]). */
  length?: number | [number, number];
  seed?: number;
}

/** The vocabulary of the toy tasks: the specials, then `symbols` letters. */
export function toyVocab(symbols = 10): Vocab {
  if (!Number.isInteger(symbols) || symbols < 2 || symbols > 26) throw new Error(`symbols (${symbols}) must be an integer in [2, 26].`);
  return Vocab.fromJSON({ kind: "nlu-course/vocab", tokens: [...SPECIALS, ..."abcdefghijklmnopqrstuvwxyz".slice(0, symbols)] });
}

/** Seeded copy or reverse examples. */
export function toySeq2Seq(opts: ToyOptions): ToyExample[] {
  const task = opts.task ?? "copy";
  if (!TOY_TASKS.includes(task)) throw new Error(`toy task "${task}" is unknown: use one of ${TOY_TASKS.join(", ")}.`);
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`count (${opts.count}) must be a positive integer.`);
  const symbols = opts.symbols ?? 10;
  toyVocab(symbols); // validates
  const [lo, hi] = typeof opts.length === "number" ? [opts.length, opts.length] : opts.length ?? [3, 12];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) throw new Error(`length [${lo}, ${hi}] must be integers with 1 <= min <= max.`);
  const rng = new Rng(opts.seed ?? 0);
  return Array.from({ length: opts.count }, () => {
    const n = lo + rng.int(hi - lo + 1);
    const source = Array.from({ length: n }, () => SPECIALS.length + rng.int(symbols));
    return { source, target: task === "copy" ? [...source] : [...source].reverse(), length: n };
  });
}
