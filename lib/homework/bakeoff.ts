// The bake-off (cs224u's "original system" contest): every student's system predicts the same held-out inputs, and
// one scorer ranks the prediction files. Ours is COGS's generalization set (Kim & Linzen 2020): sentences built
// to need structures the training set never shows in that position (a noun seen only as an object, now a subject;
// PP recursion deeper than in training, ...), scored by exact match of the logical form.
//
//   const inputs = await cogsBakeoffInputs();               // [{ id: "gen-00001", source: "Paula painted ..." }, ...]
//   writeBakeoffPredictions("bakeoff.tsv", predictions);    // checked like the scorer checks it, then written
//   ./course bakeoff bakeoff.tsv                            // exact match, overall and per category
//
// Where the labels live. The student's side (cogsBakeoffInputs) hands out ids and sentences only; the gold logical
// forms are read by the scorer alone, through the dataset registry (the same checksummed gen.tsv, from the cache,
// NLU_DATA_MIRROR or its public URL), and are never part of a released assignment. COGS is public, so this keeps
// the labels out of the student's workflow, not secret: a course that needs a secret test set swaps in its own
// file with the `gold` option of scoreBakeoff.
import { CogsExample, LoadOptions, loadCogs } from "../data/corpora";
import { writeFileAtomic } from "../data/verify";

/** How many sentences of each of COGS's 21 generalization categories the bake-off takes (in file order). */
export const BAKEOFF_PER_CATEGORY = 50;
export const PREDICTION_HEADER = "id\tprediction";

export interface BakeoffInput {
  /** "gen-<line>": the sentence's 1-based line number in COGS's gen.tsv. */
  id: string;
  source: string;
}

export interface BakeoffOptions extends LoadOptions {
  /** Sentences per category (default BAKEOFF_PER_CATEGORY). */
  perCategory?: number;
}

interface GoldItem extends BakeoffInput {
  target: string;
  category: string;
}

/** The bake-off's items with their gold labels: the first `perCategory` sentences of each category. */
export function bakeoffItems(gen: CogsExample[], perCategory = BAKEOFF_PER_CATEGORY): GoldItem[] {
  if (!Number.isInteger(perCategory) || perCategory <= 0) throw new Error(`perCategory (${perCategory}) must be a positive integer, e.g. ${BAKEOFF_PER_CATEGORY}.`);
  const taken = new Map<string, number>();
  const out: GoldItem[] = [];
  gen.forEach((ex, i) => {
    const n = taken.get(ex.category) ?? 0;
    if (n >= perCategory) return;
    taken.set(ex.category, n + 1);
    out.push({ id: `gen-${String(i + 1).padStart(5, "0")}`, source: ex.source, target: ex.target, category: ex.category });
  });
  return out;
}

/** The inputs every bake-off entry must predict: ids and sentences, no labels. */
export async function cogsBakeoffInputs(opts: BakeoffOptions = {}): Promise<BakeoffInput[]> {
  const { perCategory, ...load } = opts;
  return bakeoffItems(await loadCogs("gen", load), perCategory).map(({ id, source }) => ({ id, source }));
}

export interface Prediction {
  id: string;
  prediction: string;
}

/** Logical forms compare after trimming and collapsing runs of whitespace (COGS is space-tokenized). */
export const normalize = (s: string): string => s.trim().split(/\s+/).filter(Boolean).join(" ");

/** A prediction file's text: a header line, then `id<TAB>prediction` per line. */
export function formatPredictions(predictions: readonly Prediction[]): string {
  const lines = predictions.map((p, i) => {
    if (typeof p.id !== "string" || typeof p.prediction !== "string") throw new Error(`prediction ${i + 1} must be { id: string, prediction: string }, got ${JSON.stringify(p)}.`);
    if (/[\t\n\r]/.test(p.prediction)) throw new Error(`prediction for ${p.id} contains a tab or a newline; a logical form is one line of space-separated tokens.`);
    return `${p.id}\t${p.prediction}`;
  });
  return [PREDICTION_HEADER, ...lines].join("\n") + "\n";
}

/** Thrown for a prediction file the scorer cannot take; `problems` lists every reason (the message shows some). */
export class BakeoffFileError extends Error {
  constructor(readonly where: string, readonly problems: string[]) {
    super(`${where} is not a valid bake-off prediction file:\n${problems.slice(0, 12).map((p) => `  - ${p}`).join("\n")}` +
      (problems.length > 12 ? `\n  - ... and ${problems.length - 12} more` : ""));
    this.name = "BakeoffFileError";
  }
}

const examples = (ids: string[], n = 5): string => ids.slice(0, n).join(", ") + (ids.length > n ? `, ... (${ids.length} in all)` : "");

/**
 * Parse a prediction file and check it against the bake-off's ids: every line `id<TAB>prediction` (an optional
 * `id<TAB>prediction` header first), no unknown ids, no id twice, and exactly one prediction per bake-off id.
 * Throws BakeoffFileError listing every problem; returns predictions by id.
 */
export function parsePredictions(text: string, ids: readonly string[], where = "the prediction file"): Map<string, string> {
  const known = new Set(ids);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const unknown: string[] = [];
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    if (i === 0 && line.trim() === PREDICTION_HEADER) return;
    const tab = line.indexOf("\t");
    if (tab < 0) {
      problems.push(`line ${i + 1}: expected "id<TAB>prediction", got ${JSON.stringify(line.length > 60 ? line.slice(0, 57) + "..." : line)}`);
      return;
    }
    const id = line.slice(0, tab).trim();
    if (seen.has(id)) problems.push(`line ${i + 1}: id ${id} appears again (first on line ${seen.get(id)})`);
    else seen.set(id, i + 1);
    if (!known.has(id)) unknown.push(id);
  });
  if (unknown.length) problems.push(`${unknown.length} unknown id(s): ${examples(unknown)}; the ids are those of cogsBakeoffInputs() (gen-00001 ...)`);
  const missing = ids.filter((id) => !seen.has(id));
  const count = seen.size;
  if (count !== ids.length || missing.length) {
    problems.push(`${count} prediction(s) for a bake-off of ${ids.length} sentences` +
      (missing.length ? `: missing ${examples(missing)}` : ""));
  }
  if (problems.length) throw new BakeoffFileError(where, problems);
  const out = new Map<string, string>();
  for (const line of lines.slice(lines[0]?.trim() === PREDICTION_HEADER ? 1 : 0)) {
    const tab = line.indexOf("\t");
    out.set(line.slice(0, tab).trim(), line.slice(tab + 1));
  }
  return out;
}

/**
 * Check predictions against the bake-off's inputs exactly as the scorer will, then write the file.
 * predictions: one per input, in any order. Throws BakeoffFileError (nothing is written) when they do not fit.
 */
export function writeBakeoffPredictions(path: string, predictions: readonly Prediction[], inputs: readonly BakeoffInput[]): void {
  const text = formatPredictions(predictions);
  parsePredictions(text, inputs.map((x) => x.id), `the predictions for ${path}`);
  writeFileAtomic(path, text); // an interrupted write never leaves half a file in place of the last good one
}

export interface BakeoffScore {
  /** Fraction of sentences whose predicted logical form equals the gold one (after `normalize`). */
  exactMatch: number;
  correct: number;
  total: number;
  /** Per generalization category, in the order they first appear. */
  perCategory: { category: string; correct: number; total: number; exactMatch: number }[];
}

export interface ScoreOptions extends BakeoffOptions {
  /** Gold examples to score against instead of COGS's gen set (a course's own held-out file). */
  gold?: CogsExample[];
}

/** Score a prediction file (its text) on the bake-off. Throws BakeoffFileError for a malformed file. */
export async function scoreBakeoff(text: string, opts: ScoreOptions & { where?: string } = {}): Promise<BakeoffScore> {
  const { gold, where, perCategory, ...load } = opts;
  const items = bakeoffItems(gold ?? (await loadCogs("gen", load)), perCategory);
  const predicted = parsePredictions(text, items.map((x) => x.id), where);
  const cats = new Map<string, { correct: number; total: number }>();
  let correct = 0;
  for (const item of items) {
    const c = cats.get(item.category) ?? { correct: 0, total: 0 };
    const ok = normalize(predicted.get(item.id)!) === normalize(item.target);
    c.total++;
    if (ok) (c.correct++, correct++);
    cats.set(item.category, c);
  }
  return {
    exactMatch: correct / items.length,
    correct,
    total: items.length,
    perCategory: [...cats].map(([category, c]) => ({ category, ...c, exactMatch: c.correct / c.total })),
  };
}
