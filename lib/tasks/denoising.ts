// BART at course scale (Lewis et al. 2020): denoising pre-training of an encoder-decoder on unlabelled English at
// the CHARACTER level, then fine-tuning on spelling correction — the lecture's suggested use, since corrupting
// characters (deleting, masking, dropping spans) looks much like misspelling them.
//
//   documents   windows of lower-cased IMDB review text (Maas et al. 2011, the 50,000 unlabelled reviews), cut
//               at word boundaries, so a window may hold the end of one sentence and the start of the next
//   pre-train   source = noise(document) (lib/data/noising.ts), target = the document; fresh noise every time
//               a document is drawn; the one Trainer, weights cached (lib/models/pretrain_cache.ts)
//   fine-tune   the same model, all weights, on misspelling → word (lib/tasks/spelling.ts), beside a model
//               trained on spelling alone for the same steps ("none": BART Table 1's missing baseline)
import { loadImdbUnlabelled, LoadOptions } from "../data/corpora";
import { NoiseSpec, applyNoise, describeNoise } from "../data/noising";
import { MASK_ID, Vocab } from "../data/vocab";
import { Rng } from "../random";
import { Trainer, TrainerOptions } from "../train/trainer";
import { TransformerSeq2Seq, TransformerSeq2SeqOptions } from "../models/seq2seq/transformer_seq2seq";
import { evaluateSeq2Seq } from "../eval/seq2seq_eval";
import { throwIfInterrupted } from "../interrupt";
import { Seq2SeqTask, TaskPair } from "./seq2seq_task";
import { SpellingOptions, prepareSpelling } from "./spelling";
import { TextToTextTask, codecWithVocabulary, withVocabulary } from "./text_to_text";
import { FitCachedResult, trainTransformerSeq2Seq } from "./seq2seq_runs";

/** Windows of at most maxChars characters, cut at word boundaries (words longer than maxChars are skipped). */
export function textWindows(texts: readonly string[], opts: { maxChars: number; minChars?: number }): string[] {
  const { maxChars } = opts;
  if (!Number.isInteger(maxChars) || maxChars < 2) throw new Error(`textWindows: maxChars (${maxChars}) must be an integer >= 2.`);
  const minChars = opts.minChars ?? Math.ceil(maxChars / 2);
  const out: string[] = [];
  for (const text of texts) {
    let cur = "";
    for (const word of text.split(/\s+/)) {
      if (!word || word.length > maxChars) continue;
      if (cur && cur.length + 1 + word.length > maxChars) {
        if (cur.length >= minChars) out.push(cur);
        cur = "";
      }
      cur = cur ? `${cur} ${word}` : word;
    }
    if (cur.length >= minChars) out.push(cur);
  }
  return out;
}

/**
 * `count` denoising pairs: documents drawn in shuffled passes, each corrupted afresh by `noise` (characters,
 * "[MASK]" as the mask) → source = the corrupted characters' ids, target = the document's. An empty noise list
 * gives the identity (copying).
 */
export function denoisingExamples(opts: { documents: readonly string[]; vocab: Vocab; noise: readonly NoiseSpec[]; count: number; seed?: number }): TaskPair[] {
  const { documents, vocab, noise, count } = opts;
  if (!documents?.length) throw new Error("denoisingExamples needs documents (textWindows of a corpus).");
  if (!Number.isInteger(count) || count < 1) throw new Error(`denoisingExamples: count (${count}) must be a positive integer.`);
  const rng = new Rng(opts.seed ?? 0);
  const order = rng.shuffle(documents.map((_, i) => i));
  const out: TaskPair[] = [];
  for (let n = 0; n < count; n++) {
    if (n % order.length === 0 && n > 0) rng.shuffle(order);
    const doc = documents[order[n % order.length]];
    const chars = Array.from(doc);
    let noised = applyNoise(chars, noise, { mask: "[MASK]", rng });
    if (noised.length === 0) noised = ["[MASK]"]; // a document deleted entirely: the model still needs a source token
    out.push({ source: vocab.encode(noised), target: vocab.encode(chars), sourceText: noised.join(""), targetText: doc, length: noised.length });
  }
  return out;
}

export interface BartSpellingData {
  /** Characters of the corpus and of the spelling pairs, specials included ([MASK] = MASK_ID). */
  vocab: Vocab;
  /** Pre-training documents (train) and held-out documents (to measure reconstruction). */
  documents: string[];
  heldOut: string[];
  /** The denoising "task" (character codec on both sides); its splits are filled per noise by the runners. */
  corpus: Seq2SeqTask;
  /** Spelling correction re-encoded with the same vocabulary. */
  spelling: TextToTextTask;
}

export interface BartSpellingOptions {
  /** Reviews read (default all 50,000; fewer load faster). */
  reviews?: number;
  /** Documents kept (default 20,000) and held out (default 500). */
  documents?: number;
  heldOut?: number;
  /** Longest document in characters (default 48). */
  maxChars?: number;
  /** Characters seen fewer times in the documents become [UNK] (default 20). */
  minCount?: number;
  spelling?: SpellingOptions;
  seed?: number;
  /** Read the committed samples instead of the corpora (tests). */
  sample?: boolean;
  load?: LoadOptions;
}

/** Load the pre-training documents and the spelling task with one character vocabulary. */
export async function prepareBartSpelling(opts: BartSpellingOptions = {}): Promise<BartSpellingData> {
  const seed = opts.seed ?? 0;
  const reviews = await loadImdbUnlabelled({ ...opts.load, sample: opts.sample });
  const used = reviews.slice(0, opts.reviews ?? reviews.length);
  const windows = new Rng(seed).shuffle(textWindows(used.map((r) => r.toLowerCase()), { maxChars: opts.maxChars ?? 48 }));
  const nHeld = opts.heldOut ?? 500;
  const nDocs = opts.documents ?? 20000;
  if (windows.length < nHeld + 1) throw new Error(`only ${windows.length} documents: lower heldOut (${nHeld}).`);
  const heldOut = windows.slice(0, nHeld);
  const documents = windows.slice(nHeld, nHeld + nDocs);
  const spelling = await prepareSpelling({ ...opts.spelling, sample: opts.sample ?? opts.spelling?.sample, load: opts.load ?? opts.spelling?.load });
  const counts = new Map<string, number>();
  for (const d of documents) for (const c of d) counts.set(c, (counts.get(c) ?? 0) + 1);
  const minCount = opts.minCount ?? 20;
  const frequent = [...counts].filter(([, n]) => n >= minCount).map(([c]) => [c]);
  // Every character of the spelling pairs is kept, and each frequent corpus character once.
  const vocab = Vocab.build([...frequent, ...spelling.train.flatMap((p) => [Array.from(p.sourceText), Array.from(p.targetText)])]);
  if (vocab.id("[MASK]") !== MASK_ID) throw new Error("the vocabulary lost [MASK]: rebuild it with Vocab.build.");
  const codec = codecWithVocabulary({ source: { tokenization: "char" }, target: { tokenization: "char" } }, vocab);
  const corpus: Seq2SeqTask = { name: "denoising (IMDB, characters)", codec, train: [], dev: [], test: [] };
  return { vocab, documents, heldOut, corpus, spelling: withVocabulary(spelling, vocab) };
}

export interface DenoisingStudyOptions {
  data: BartSpellingData;
  /** Each entry one pre-training recipe; [] = no pre-training (the baseline). */
  noises: NoiseSpec[][];
  /** The encoder-decoder both stages use (vocabulary from the data). */
  model: Omit<TransformerSeq2SeqOptions, "vocabSize" | "architecture">;
  /** Pre-training: Trainer settings; maxSteps × batchSize documents are drawn and noised. */
  pretrain: TrainerOptions<TaskPair> & { maxSteps: number };
  /** Fine-tuning on spelling (the same settings for every recipe, pre-trained or not). */
  finetune: TrainerOptions<TaskPair>;
  /** Name prefix of the cached checkpoints (default "bart"). */
  name?: string;
  seed?: number;
}

export interface DenoisingRun {
  /** BART Table 1's name: "text infilling + sentence permutation", or "none". */
  noise: string;
  /** Pre-training loss per step (empty for none). */
  pretrainLosses: number[];
  /** Mean reconstruction loss on the held-out documents under the same noise (NaN for none), nats per character. */
  heldOutLoss: number;
  finetuneLosses: number[];
  /** Spelling test: exact match (top-1, greedy), character error rate, and per-example correctness (for paired claims). */
  exactMatch: number;
  cer: number;
  correct: number[];
  /** Seconds of pre-training and fine-tuning (as cached). */
  seconds: number;
}

/**
 * BART's Table 1 at course scale: for each noise, pre-train (cached), fine-tune on spelling (cached), and score
 * the spelling test set; [] in `noises` fine-tunes from scratch. Returns one run per recipe, in order.
 */
export async function runDenoisingStudy(opts: DenoisingStudyOptions): Promise<DenoisingRun[]> {
  const { data } = opts;
  const base = opts.name ?? "bart";
  const model = { ...opts.model, architecture: "encoder-decoder" as const };
  const runs: DenoisingRun[] = [];
  for (const noise of opts.noises) {
    throwIfInterrupted("the denoising study");
    const label = describeNoise(noise);
    const slug = label.replace(/[^a-z]+/g, "-");
    let pre: FitCachedResult<TransformerSeq2Seq> | null = null;
    let heldOutLoss = NaN;
    if (noise.length > 0) {
      const count = opts.pretrain.maxSteps * (opts.pretrain.batchSize ?? 32);
      const train = denoisingExamples({ documents: data.documents, vocab: data.vocab, noise, count, seed: opts.seed });
      pre = await trainTransformerSeq2Seq({
        name: `${base}-pre-${slug}`, task: data.corpus, train, model, trainer: { epochs: 1, ...opts.pretrain },
        key: { noise, documents: data.documents.length, firstDocument: data.documents[0] },
      });
      const held = denoisingExamples({ documents: data.heldOut, vocab: data.vocab, noise, count: data.heldOut.length, seed: 1 });
      heldOutLoss = new Trainer(pre.model, { batchSize: 64 }).meanLoss(held);
    }
    const ft = await trainTransformerSeq2Seq({
      name: `${base}-ft-${slug}`, task: data.spelling, model, trainer: opts.finetune, init: pre?.model,
      key: { pretrained: pre ? `${base}-pre-${slug}` : "none", pretrainSteps: pre?.losses.length ?? 0 },
    });
    const ev = await evaluateSeq2Seq({ model: ft.model, codec: data.spelling.codec, examples: data.spelling.test, metrics: ["cer"] });
    runs.push({
      noise: label, pretrainLosses: pre?.losses ?? [], heldOutLoss, finetuneLosses: ft.losses, exactMatch: ev.exactMatch, cer: ev.cer!,
      correct: ev.predictions.map((p) => (p.correct ? 1 : 0)), seconds: (pre?.seconds ?? 0) + ft.seconds,
    });
    pre?.model.dispose();
    ft.model.dispose();
  }
  return runs;
}
