// Multi30k (Elliott et al. 2016), English → German image captions: the translation task of lecture 5.
//
// Words on both sides (lib/data/tokenize's wordTokenize: punctuation split off). The English source is
// lower-cased (fewer types to learn); the German target keeps its case, because BLEU is scored against the
// cased references (sacreBLEU's default). Decoded German words are detokenized back to text before scoring, so
// the BLEU is comparable with sacreBLEU's on raw text. "test" is test2016 (flickr), 1,000 sentences.
import { loadMulti30k, LoadOptions } from "../data/corpora";
import { Seq2SeqTask, buildTask, subsample } from "./seq2seq_task";

export interface Multi30kOptions {
  /** Training pairs used (default all 29,000). */
  trainSize?: number;
  /** Dev (val) and test pairs used (default all: 1,014 and 1,000). */
  evalSize?: number;
  /** Keep words seen at least this often in training (default 2); rarer ones become [UNK]. */
  minCount?: number;
  seed?: number;
  sample?: boolean;
  load?: LoadOptions;
}

export async function prepareMulti30k(opts: Multi30kOptions = {}): Promise<Seq2SeqTask> {
  const load = { ...opts.load, sample: opts.sample };
  const seed = opts.seed ?? 0;
  const pairs = async (split: "train" | "val" | "test") => (await loadMulti30k(split, load)).map((r) => ({ source: r.en, target: r.de }));
  const built = buildTask(
    {
      train: subsample(await pairs("train"), opts.trainSize, seed),
      dev: subsample(await pairs("val"), opts.evalSize, seed + 1),
      // The test set keeps its order when whole (a subset is a seeded sample).
      test: opts.evalSize === undefined ? await pairs("test") : subsample(await pairs("test"), opts.evalSize, seed + 2),
    },
    { source: { tokenization: "word", lowercase: true }, target: { tokenization: "word" }, minCount: opts.minCount ?? 2 },
  );
  return { name: "Multi30k en→de", ...built };
}
