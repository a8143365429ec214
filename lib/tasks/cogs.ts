// COGS (Kim & Linzen 2020): English sentences → logical forms, the semantic parsing task of lecture 5.
//
//   "A rose was helped by a dog ."  →  "rose ( x _ 1 ) AND help . theme ( x _ 3 , x _ 1 ) AND help . agent ( x _ 3 , x _ 6 ) AND dog ( x _ 6 )"
//
// Both sides are already split into symbols by spaces, so tokenization is "whitespace" and case is kept (proper
// names such as Emma appear in the logical form). Besides the usual train / dev / test (in distribution), COGS
// has a GENERALIZATION set: 21 categories of 1,000 sentences, each a new combination of known parts (a noun
// seen only as a subject now an object, deeper recursion, a verb in a new voice...). Kim & Linzen report
// ~96–99% exact match in distribution and 16–35% on the generalization set for LSTMs and transformers.
import { loadCogs, LoadOptions } from "../data/corpora";
import { Seq2SeqTask, TaskPair, buildTask, subsample } from "./seq2seq_task";

export interface CogsTask extends Seq2SeqTask {
  /** The generalization set (category = its case name). */
  gen: TaskPair[];
}

export interface CogsOptions {
  /** Training pairs used (default all 24,155). */
  trainSize?: number;
  /** Dev and test pairs used (default all 3,000 each). */
  evalSize?: number;
  /** Generalization pairs kept per category (default all 1,000). */
  genPerCategory?: number;
  /** Seed of the subsets (default 0). */
  seed?: number;
  /** Read the committed samples instead of the full corpus (tests). */
  sample?: boolean;
  load?: LoadOptions;
}

/** The number of generalization pairs per category, at most n of each (seeded). */
function perCategory<T extends { category: string }>(rows: T[], n: number | undefined, seed: number): T[] {
  if (n === undefined) return rows;
  const groups = new Map<string, T[]>();
  for (const r of rows) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
  return [...groups.values()].flatMap((g) => subsample(g, n, seed));
}

/** Load COGS, fit the vocabularies on the training pairs, encode every split. */
export async function prepareCogs(opts: CogsOptions = {}): Promise<CogsTask> {
  const load = { ...opts.load, sample: opts.sample };
  const seed = opts.seed ?? 0;
  const pairs = async (split: "train" | "dev" | "test" | "gen") => (await loadCogs(split, load)).map((r) => ({ source: r.source, target: r.target, category: r.category }));
  const built = buildTask(
    {
      train: subsample(await pairs("train"), opts.trainSize, seed),
      dev: subsample(await pairs("dev"), opts.evalSize, seed + 1),
      test: subsample(await pairs("test"), opts.evalSize, seed + 2),
      gen: perCategory(await pairs("gen"), opts.genPerCategory, seed + 3),
    },
    { source: { tokenization: "whitespace" }, target: { tokenization: "whitespace" } },
  );
  return { name: "COGS", ...built };
}
