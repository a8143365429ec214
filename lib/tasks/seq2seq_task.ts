// What every seq2seq task of lecture 5 hands a notebook: text pairs encoded by one codec, split into train /
// dev / test (and, for COGS, the generalization set). COGS, Multi30k and the spelling lists (cogs.ts,
// multi30k.ts, spelling.ts) each build one; the models, decoders and evaluation (seq2seq_eval.ts) take any.
import { Rng } from "../random";
import { Seq2SeqCodec, Seq2SeqCodecOptions, Seq2SeqExample, TextPair } from "../data/seq2seq";

/** An encoded pair that remembers its text (for display and for scoring against the original). */
export interface TaskPair extends Seq2SeqExample {
  sourceText: string;
  targetText: string;
  /** Tokens in the source (for accuracy-by-length curves). */
  length: number;
  /** A label to group results by (COGS: in_distribution or a generalization case). */
  category?: string;
}

export interface Seq2SeqTask<P extends TaskPair = TaskPair> {
  name: string;
  codec: Seq2SeqCodec;
  train: P[];
  dev: P[];
  test: P[];
}

/** Text pairs → encoded TaskPairs (the codec fitted on the training pairs only). */
export function encodePairs(codec: Seq2SeqCodec, pairs: readonly (TextPair & { category?: string })[]): TaskPair[] {
  return pairs.map((p) => {
    const e = codec.encode(p);
    return { ...e, sourceText: p.source, targetText: p.target, length: e.source.length, ...(p.category !== undefined ? { category: p.category } : {}) };
  });
}

/** Fit a codec on the training pairs and encode every split. */
export function buildTask<S extends string>(
  splits: Record<S, readonly (TextPair & { category?: string })[]> & { train: readonly TextPair[] },
  codecOptions: Seq2SeqCodecOptions,
): { codec: Seq2SeqCodec } & Record<S, TaskPair[]> {
  const codec = Seq2SeqCodec.build(splits.train, codecOptions);
  const out = { codec } as { codec: Seq2SeqCodec } & Record<S, TaskPair[]>;
  for (const key of Object.keys(splits) as S[]) (out as Record<S, TaskPair[]>)[key] = encodePairs(codec, splits[key]);
  return out;
}

/** A seeded random subset of at most n items (all of them, in a shuffled order, when n ≥ length). */
export function subsample<T>(items: readonly T[], n: number | undefined, seed: number): T[] {
  if (n === undefined) return [...items];
  if (!Number.isInteger(n) || n < 1) throw new Error(`subset size (${n}) must be a positive integer (or leave it out for all).`);
  return new Rng(seed).shuffle([...items]).slice(0, n);
}
