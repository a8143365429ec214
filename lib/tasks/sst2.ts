// SST-2 as the course uses it: dev is our test set (the official test labels are hidden), a seeded slice of
// train is validation, words are tokenised and encoded with a vocabulary fit on the training slice only.
// Every classifier notebook (RNN, CNN, transformer, ELECTRA fine-tuning) starts from `prepareSst2`.
import { loadSst2, LoadOptions, Sst2Example } from "../data/corpora";
import { wordTokenize } from "../data/tokenize";
import { Vocab, CLS_ID } from "../data/vocab";
import { Rng } from "../random";
import { LabelledIds } from "../models/classifier";

export const SST2_LABELS = ["negative", "positive"];

export interface Sst2Options {
  /** Training examples to use after the validation slice is taken (default: all that remain). */
  trainSize?: number;
  /** Examples held out of train for validation / early stopping (default 1000). */
  valSize?: number;
  /** Vocabulary: minimum count and maximum size (defaults 2 and 20000). */
  minCount?: number;
  maxVocab?: number;
  /** Prepend [CLS] to every sentence (for transformer classifiers that pool position 0). */
  addCls?: boolean;
  seed?: number;
  /** Passed to the loader, e.g. { sample: true } for the committed sample. */
  load?: LoadOptions;
}

export interface Sst2Split {
  raw: Sst2Example[];
  tokens: string[][];
  encoded: LabelledIds[];
}

export interface Sst2Data {
  train: Sst2Split;
  val: Sst2Split;
  /** The official dev set, our test set. */
  dev: Sst2Split;
  vocab: Vocab;
}

export async function prepareSst2(opts: Sst2Options = {}): Promise<Sst2Data> {
  const valSize = opts.valSize ?? 1000;
  const all = await loadSst2("train", opts.load);
  const devRaw = await loadSst2("dev", opts.load);
  if (!(Number.isInteger(valSize) && valSize >= 1 && valSize < all.length)) {
    throw new Error(`valSize (${valSize}) must be an integer from 1 to ${all.length - 1}.`);
  }
  const order = new Rng(opts.seed ?? 0).shuffle(all.map((_, i) => i));
  const valRaw = order.slice(0, valSize).map((i) => all[i]);
  const rest = order.slice(valSize).map((i) => all[i]);
  const trainSize = opts.trainSize ?? rest.length;
  if (!(Number.isInteger(trainSize) && trainSize >= 1)) throw new Error(`trainSize (${trainSize}) must be a positive integer.`);
  const trainRaw = rest.slice(0, trainSize);
  const tokensOf = (xs: Sst2Example[]) => xs.map((x) => wordTokenize(x.text));
  const trainTokens = tokensOf(trainRaw);
  const vocab = Vocab.build(trainTokens, { minCount: opts.minCount ?? 2, maxSize: opts.maxVocab ?? 20000 });
  const split = (raw: Sst2Example[], tokens = tokensOf(raw)): Sst2Split => ({
    raw,
    tokens,
    encoded: raw.map((x, i) => ({ ids: [...(opts.addCls ? [CLS_ID] : []), ...vocab.encode(tokens[i].length ? tokens[i] : ["[UNK]"])], label: x.label })),
  });
  return { train: split(trainRaw, trainTokens), val: split(valRaw), dev: split(devRaw), vocab };
}

/** Accuracy of always predicting the most frequent training label: the bar every model must clear. */
export function majorityBaseline(train: LabelledIds[], test: LabelledIds[]): { label: number; accuracy: number } {
  const counts = new Map<number, number>();
  for (const x of train) counts.set(x.label, (counts.get(x.label) ?? 0) + 1);
  const label = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  return { label, accuracy: test.filter((x) => x.label === label).length / test.length };
}
