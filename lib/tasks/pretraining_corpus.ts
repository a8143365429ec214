// The pre-training corpus of lecture 4: IMDB's unlabelled movie reviews (in-domain for SST-2), a WordPiece
// vocabulary trained on them, and the text packed into full windows, with held-out windows from other reviews
// and the unigram yardstick every MLM loss is read against.
//
//   const corpus = await preparePretrainingCorpus({ reviews: 20000, vocabSize: 8000, windowLength: 63 });
//   corpus.train            // TokenIds[]: windows of exactly 63 ids ([CLS] is added by the model)
//   corpus.unigramEntropy   // nats: the MLM loss of a model that ignores the context, on the training windows
//   corpus.heldOutUnigram   // nats: that model's loss on the held-out windows: the line held-out losses are read against
//
// The tokenizer is cached as JSON under checkpoints/ (keyed by every setting), so re-runs skip its training.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadImdbUnlabelled, LoadOptions } from "../data/corpora";
import { packSequences } from "../data/packing";
import { trainWordPiece, WordPieceJSON, WordPieceTokenizer } from "../data/wordpiece";
import { FIRST_ORDINARY_ID } from "../models/masking";
import { unigramLogProbs } from "../models/electra_heads";
import { checkpointDir } from "../models/pretrain_cache";
import { writeFileAtomic } from "../data/verify";
import { TokenIds } from "../models/electra";

export interface PretrainingCorpusOptions {
  /** Unlabelled reviews to use, of IMDB's 50,000 (default 20,000); the last `heldOutReviews` of them are held out. */
  reviews?: number;
  /** Reviews whose windows are held out of pre-training (default 200). */
  heldOutReviews?: number;
  /** WordPiece vocabulary size, specials included (default 8000). */
  vocabSize?: number;
  /** Reviews the tokenizer is trained on (default: all pre-training reviews). */
  tokenizerReviews?: number;
  /** Tokens per window, without [CLS] (default 63: the model's maxLen is then 64). */
  windowLength?: number;
  /** Cache the tokenizer under checkpoints/ (default true). */
  cache?: boolean;
  /** Passed to the loader (mirror, cache folder, { sample: true }). */
  load?: LoadOptions;
  log?: (line: string) => void;
}

export interface PretrainingCorpus {
  tokenizer: WordPieceTokenizer;
  /** Packed windows of `windowLength` ids for pre-training. */
  train: TokenIds[];
  /** Packed windows from the held-out reviews (never trained on). */
  heldOut: TokenIds[];
  windowLength: number;
  /** Entropy (nats) of the ordinary-token frequencies of the training windows: a context-free MLM's loss. */
  unigramEntropy: number;
  /**
   * The same context-free model (the training windows' frequencies, smoothed as unigramLogProbs) scored on the
   * held-out windows' ordinary tokens, in nats: the yardstick for HELD-OUT MLM losses (text never trained on has
   * some rarer tokens, so it sits a little above unigramEntropy). An MLM head started with setUnigramPrior
   * scores about this at step 0.
   */
  heldOutUnigram: number;
  /** Ordinary-token counts by id (the unigram distribution), for yardsticks and plots. */
  tokenCounts: Map<number, number>;
  stats: { reviews: number; heldOutReviews: number; tokens: number; tokensPerReview: number; seconds: number };
}

/** Mean -log p(id) over the ordinary ids of some windows, p given as log-probabilities by id (a cross-entropy, nats). */
export function crossEntropyOf(windows: TokenIds[], logProbs: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const w of windows) for (const id of w.ids) if (id >= FIRST_ORDINARY_ID) (s -= logProbs[id], n++);
  if (n === 0) throw new Error("crossEntropyOf: the windows hold no ordinary token.");
  return s / n;
}

/** Entropy (nats) of the empirical distribution of ordinary ids over some windows. */
export function unigramEntropy(windows: TokenIds[]): { entropy: number; counts: Map<number, number> } {
  const counts = new Map<number, number>();
  let n = 0;
  for (const w of windows) for (const id of w.ids) if (id >= FIRST_ORDINARY_ID) (counts.set(id, (counts.get(id) ?? 0) + 1), n++);
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log(c / n);
  return { entropy: h, counts };
}

function cachedTokenizer(key: Record<string, unknown>, texts: string[], opts: PretrainingCorpusOptions, log: (l: string) => void): WordPieceTokenizer {
  const vocabSize = opts.vocabSize ?? 8000;
  const hash = crypto.createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
  const file = path.join(checkpointDir("wordpiece"), `imdb-${vocabSize}-${hash}.json`);
  if (opts.cache !== false && fs.existsSync(file)) {
    // A cache file that cannot be read (cut short by a crash before writes were atomic, or edited by hand) is
    // trained again and replaced, never a reason to fail: it holds nothing that cannot be rebuilt.
    try {
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as WordPieceJSON & { key: unknown };
      if (JSON.stringify(json.key) === JSON.stringify(key)) return WordPieceTokenizer.fromJSON(json);
      log(`the cached WordPiece vocabulary ${path.relative(process.cwd(), file)} was made with other settings: training it again`);
    } catch (e) {
      log(`the cached WordPiece vocabulary ${path.relative(process.cwd(), file)} cannot be read (${(e as Error).message.slice(0, 80)}): training it again`);
    }
  }
  const t0 = Date.now();
  const tok = trainWordPiece(texts.slice(0, opts.tokenizerReviews ?? texts.length), { vocabSize });
  log(`trained a WordPiece vocabulary of ${tok.size} on ${opts.tokenizerReviews ?? texts.length} reviews in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (opts.cache !== false) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify({ ...tok.toJSON(), key })); // two kernels (04 and 08) may train it at once
  }
  return tok;
}

/** IMDB unlabelled -> WordPiece -> packed windows (see the top of this file). */
export async function preparePretrainingCorpus(opts: PretrainingCorpusOptions = {}): Promise<PretrainingCorpus> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const windowLength = opts.windowLength ?? 63;
  const heldOutReviews = opts.heldOutReviews ?? 200;
  const all = await loadImdbUnlabelled(opts.load ?? {});
  const reviews = Math.min(opts.reviews ?? 20000, all.length);
  if (!Number.isInteger(windowLength) || windowLength < 2) throw new Error(`windowLength (${windowLength}) must be an integer >= 2, e.g. 63.`);
  if (!(Number.isInteger(heldOutReviews) && heldOutReviews >= 1 && heldOutReviews < reviews)) {
    throw new Error(`heldOutReviews (${heldOutReviews}) must be an integer from 1 to ${reviews - 1} (reviews is ${reviews}).`);
  }
  // Upstream's unsup ids carry no order worth keeping; the first `reviews` are the pre-training ones.
  const texts = all.slice(0, reviews);
  const trainTexts = texts.slice(0, reviews - heldOutReviews);
  const key = { corpus: "imdb-unsup", reviews, heldOutReviews, vocabSize: opts.vocabSize ?? 8000, tokenizerReviews: opts.tokenizerReviews ?? null, first: texts[0].slice(0, 40) };
  const tokenizer = cachedTokenizer(key, trainTexts, opts, log);
  const encode = (xs: string[]) => xs.map((t) => tokenizer.encode(t));
  const train = packSequences(encode(trainTexts), { length: windowLength }).map((ids) => ({ ids }));
  const heldOut = packSequences(encode(texts.slice(reviews - heldOutReviews)), { length: windowLength }).map((ids) => ({ ids }));
  const { entropy, counts } = unigramEntropy(train);
  const heldOutUnigram = crossEntropyOf(heldOut, unigramLogProbs(counts, tokenizer.size));
  const tokens = train.length * windowLength;
  return {
    tokenizer, train, heldOut, windowLength, unigramEntropy: entropy, heldOutUnigram, tokenCounts: counts,
    stats: { reviews: trainTexts.length, heldOutReviews, tokens, tokensPerReview: tokens / trainTexts.length, seconds: (Date.now() - t0) / 1000 },
  };
}
