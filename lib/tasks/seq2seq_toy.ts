// Synthetic seq2seq tasks whose right answer is obvious (the annotated transformer's first test): COPY the
// source, or REVERSE it. A plain encoder-decoder must squeeze the whole source into its final state, so its
// accuracy falls as sources grow; attention looks each symbol up where it is — the bottleneck, measured.
//
// Sources are strings of the letters a, b, c, …; the task comes back like the real ones (seq2seq_task.ts):
// text pairs encoded by a character codec shared by both sides, so every model, decoder and metric applies.
import { Rng } from "../random";
import { TextPair } from "../data/seq2seq";
import { Seq2SeqTask, buildTask } from "./seq2seq_task";

export type ToyTask = "copy" | "reverse";
export const TOY_TASKS: readonly ToyTask[] = ["copy", "reverse"];

export interface ToyOptions {
  task?: ToyTask;
  /** Distinct symbols, 2..26 (default 10). */
  symbols?: number;
  /** Source length: a number, or [min, max] inclusive (default [3, 12]). */
  length?: number | [number, number];
  seed?: number;
}

function lengths(opts: ToyOptions): [number, number] {
  const [lo, hi] = typeof opts.length === "number" ? [opts.length, opts.length] : opts.length ?? [3, 12];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) throw new Error(`length [${lo}, ${hi}] must be integers with 1 <= min <= max.`);
  return [lo, hi];
}

/** Seeded copy or reverse pairs as text: "cabd" → "cabd" (copy) or "dbac" (reverse). */
export function toyPairs(count: number, opts: ToyOptions = {}): TextPair[] {
  const task = opts.task ?? "copy";
  if (!TOY_TASKS.includes(task)) throw new Error(`toy task "${task}" is unknown: use one of ${TOY_TASKS.join(", ")}.`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`count (${count}) must be a positive integer.`);
  const symbols = opts.symbols ?? 10;
  if (!Number.isInteger(symbols) || symbols < 2 || symbols > 26) throw new Error(`symbols (${symbols}) must be an integer in [2, 26].`);
  const [lo, hi] = lengths(opts);
  const rng = new Rng(opts.seed ?? 0);
  return Array.from({ length: count }, () => {
    const n = lo + rng.int(hi - lo + 1);
    const source = Array.from({ length: n }, () => String.fromCharCode(97 + rng.int(symbols))).join("");
    return { source, target: task === "copy" ? source : Array.from(source).reverse().join("") };
  });
}

export interface ToyTaskOptions extends ToyOptions {
  trainSize: number;
  /** Dev and test pairs (default 200 each), drawn from the same lengths with other seeds. */
  evalSize?: number;
}

/** A copy or reverse task with train / dev / test splits and a shared character codec. */
export function prepareToyTask(opts: ToyTaskOptions): Seq2SeqTask {
  const seed = opts.seed ?? 0;
  const evalSize = opts.evalSize ?? 200;
  const built = buildTask(
    {
      train: toyPairs(opts.trainSize, { ...opts, seed }),
      dev: toyPairs(evalSize, { ...opts, seed: seed + 1 }),
      test: toyPairs(evalSize, { ...opts, seed: seed + 2 }),
    },
    { source: { tokenization: "char" }, target: { tokenization: "char" }, shared: true },
  );
  return { name: `${opts.task ?? "copy"} (${opts.symbols ?? 10} symbols)`, ...built };
}
