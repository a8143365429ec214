// A transfer set for distilling an SST-2 teacher: unlabelled in-domain sentences that the teacher labels (Tang
// et al. 2019 distil BERT into a BiLSTM this way; Hinton et al. 2015 §1 call it the transfer set). IMDB's
// 50,000 unlabelled movie reviews (Maas et al. 2011) are the same domain as SST-2's movie-review sentences; we
// cut them into sentences of SST-2's length and tokenise them the way SST-2 is tokenised, so that the student's
// vocabulary covers them.
import { loadImdbUnlabelled, LoadOptions } from "../data/corpora";
import { wordTokenize } from "../data/tokenize";
import { Vocab } from "../data/vocab";
import { Rng } from "../random";

export interface TransferSentence {
  text: string;
  ids: number[];
  /** Unlabelled: the teacher's output is the only signal. */
  label: null;
}

export interface ImdbTransferOptions {
  /** The task's vocabulary (SST-2's): sentences are encoded with it. */
  vocab: Vocab;
  /** How many sentences to return. */
  count: number;
  /** Keep sentences of minTokens..maxTokens tokens (default 3..50, SST-2's range for most sentences). */
  minTokens?: number;
  maxTokens?: number;
  /** Which reviews come first (default 0). */
  seed?: number;
  load?: LoadOptions;
}

/** SST-2 follows the Penn Treebank: "does n't", "ca n't". Raw reviews say "doesn't"; split it the same way. */
export function treebankContractions(text: string): string {
  return text.replace(/(\w)n['’]t\b/gi, "$1 n't");
}

/** Sentences at . ! ? followed by space (reviews are prose; this rule is right for nearly all of them). */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).filter((s) => s.trim().length > 0);
}

/** `count` unlabelled sentences from IMDB's unlabelled reviews, in a seeded order of reviews. */
export async function imdbTransferSet(o: ImdbTransferOptions): Promise<TransferSentence[]> {
  const minTokens = o.minTokens ?? 3;
  const maxTokens = o.maxTokens ?? 50;
  if (!o?.vocab) throw new Error("imdbTransferSet needs { vocab } (the task's vocabulary, e.g. prepareSst2(...).vocab).");
  if (!(Number.isInteger(o.count) && o.count >= 0)) throw new Error(`count (${o.count}) must be an integer >= 0.`);
  if (!(Number.isInteger(minTokens) && minTokens >= 1 && maxTokens >= minTokens)) throw new Error(`need 1 <= minTokens (${minTokens}) <= maxTokens (${maxTokens}).`);
  if (o.count === 0) return [];
  const reviews = await loadImdbUnlabelled(o.load);
  const order = new Rng(o.seed ?? 0).shuffle(reviews.map((_, i) => i));
  const out: TransferSentence[] = [];
  for (const r of order) {
    for (const text of splitSentences(reviews[r])) {
      const tokens = wordTokenize(treebankContractions(text));
      if (tokens.length < minTokens || tokens.length > maxTokens) continue;
      out.push({ text, ids: o.vocab.encode(tokens), label: null });
      if (out.length === o.count) return out;
    }
  }
  throw new Error(`IMDB's unlabelled reviews hold only ${out.length} sentences of ${minTokens}-${maxTokens} tokens; ask for count <= ${out.length}.`);
}
