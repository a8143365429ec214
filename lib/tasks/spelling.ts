// Spelling correction at the character level (misspelling → word) on Roger Mitton's lists of real
// misspellings (Birkbeck, Holbrook, Aspell, Wikipedia), and the honest non-neural baseline to beat.
//
// The pairs of all four lists are pooled, lower-cased, de-duplicated (pairs whose two sides are equal dropped)
// and split at random into train / dev / test — so a test WORD may have been seen in training with another
// misspelling, as a corrector deployed on a known vocabulary would have. Both systems may use the LEXICON,
// every correct word of the lists:
//   baseline   the lexicon word at the smallest edit distance (ties: the word seen more often as a correct
//              training target, then alphabetical) — Damerau's and Norvig's classic recipe;
//   neural     a character seq2seq model; its beam's n-best can be filtered to lexicon words (`keepInLexicon`).
import { loadSpelling, LoadOptions, SpellingList } from "../data/corpora";
import { editDistance } from "../eval/sequence_metrics";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { Seq2SeqTask, buildTask } from "./seq2seq_task";

export const SPELLING_LISTS: readonly SpellingList[] = ["birkbeck", "holbrook", "aspell", "wikipedia"];

export interface SpellingTask extends Seq2SeqTask {
  /** Every correct word of the lists (sorted). */
  lexicon: string[];
  /** How often each word is the correct side of a training pair (the baseline's tie-break). */
  trainCounts: Map<string, number>;
}

export interface SpellingOptions {
  lists?: SpellingList[];
  /** Dev and test pairs (default 1,000 and 2,000). */
  devSize?: number;
  testSize?: number;
  /** Training pairs used (default: all the rest). */
  trainSize?: number;
  seed?: number;
  sample?: boolean;
  load?: LoadOptions;
}

export async function prepareSpelling(opts: SpellingOptions = {}): Promise<SpellingTask> {
  const lists = opts.lists ?? [...SPELLING_LISTS];
  const load = { ...opts.load, sample: opts.sample };
  const seen = new Set<string>();
  const pairs: { source: string; target: string; category: string }[] = [];
  for (const list of lists) {
    for (const m of await loadSpelling(list, load)) {
      const source = m.misspelling.toLowerCase();
      const target = m.correct.toLowerCase();
      const key = `${source}\t${target}`;
      if (source === target || source.length === 0 || seen.has(key)) continue;
      seen.add(key);
      pairs.push({ source, target, category: list });
    }
  }
  const lexicon = [...new Set(pairs.map((p) => p.target))].sort();
  new Rng(opts.seed ?? 0).shuffle(pairs);
  const devSize = opts.devSize ?? 1000;
  const testSize = opts.testSize ?? 2000;
  if (devSize + testSize >= pairs.length) throw new Error(`devSize + testSize (${devSize + testSize}) must leave training pairs out of ${pairs.length}.`);
  const test = pairs.slice(0, testSize);
  const dev = pairs.slice(testSize, testSize + devSize);
  const train = pairs.slice(testSize + devSize, opts.trainSize === undefined ? undefined : testSize + devSize + opts.trainSize);
  const built = buildTask({ train, dev, test }, { source: { tokenization: "char" }, target: { tokenization: "char" }, shared: true });
  const trainCounts = new Map<string, number>();
  for (const p of train) trainCounts.set(p.target, (trainCounts.get(p.target) ?? 0) + 1);
  return { name: "spelling (Mitton)", ...built, lexicon, trainCounts };
}

export interface Ranked {
  word: string;
  distance: number;
}

/**
 * The edit-distance baseline: for a misspelling, the k lexicon words closest to it (Levenshtein distance),
 * ties broken by how often the word is a correct training target (more first), then alphabetically.
 */
export class NearestWordCorrector {
  /** Lexicon words as code-point arrays, grouped by length. */
  private readonly byLength = new Map<number, { word: string; units: string[] }[]>();

  constructor(lexicon: readonly string[], private readonly counts: ReadonlyMap<string, number> = new Map()) {
    if (lexicon.length === 0) throw new Error("NearestWordCorrector needs a non-empty lexicon.");
    for (const word of lexicon) {
      const units = Array.from(word);
      this.byLength.set(units.length, [...(this.byLength.get(units.length) ?? []), { word, units }]);
    }
  }

  private order(a: Ranked, b: Ranked): number {
    return a.distance - b.distance || (this.counts.get(b.word) ?? 0) - (this.counts.get(a.word) ?? 0) || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0);
  }

  /** The k nearest lexicon words, nearest first. */
  candidates(misspelling: string, k = 5): Ranked[] {
    if (!Number.isInteger(k) || k < 1) throw new Error(`k (${k}) must be a positive integer.`);
    const x = Array.from(misspelling);
    const best: Ranked[] = [];
    // Lengths nearest the misspelling's first: good candidates come early, and the distance is at least the
    // difference in length, so whole groups are skipped once k words are closer than that.
    const lengths = [...this.byLength.keys()].sort((a, b) => Math.abs(a - x.length) - Math.abs(b - x.length) || a - b);
    for (const len of lengths) {
      if (best.length === k && Math.abs(len - x.length) > best[k - 1].distance) continue;
      for (const { word, units } of this.byLength.get(len)!) {
        const limit = best.length === k ? best[k - 1].distance : Infinity;
        const cand = { word, distance: editDistance(x, units, limit) };
        if (best.length < k || this.order(cand, best[k - 1]) < 0) {
          best.push(cand);
          best.sort((a, b) => this.order(a, b));
          if (best.length > k) best.pop();
        }
      }
    }
    return best;
  }

  /** `candidates` for many misspellings, yielding to the event loop now and then so the stop button works. */
  async candidatesAll(misspellings: readonly string[], k = 5): Promise<Ranked[][]> {
    const out: Ranked[][] = [];
    for (let i = 0; i < misspellings.length; i++) {
      if (i % 100 === 0) {
        await new Promise((r) => setImmediate(r));
        throwIfInterrupted("the edit-distance baseline");
      }
      out.push(this.candidates(misspellings[i], k));
    }
    return out;
  }
}

/** Keep the candidates that are lexicon words (in order); if none is, keep them all. */
export function keepInLexicon(candidates: readonly string[], lexicon: ReadonlySet<string>): string[] {
  const kept = candidates.filter((c) => lexicon.has(c));
  return kept.length ? kept : [...candidates];
}
