// Masking for masked-language-model pre-training (BERT, Devlin et al. 2019; ELECTRA, Clark et al. 2020).
//
// Pure JS on id arrays with a seeded Rng, so every rule here is testable without tensors:
//   1. choose ~rate of the maskable positions (never padding, never a special token such as [CLS]);
//   2. corrupt them: BERT's 80/10/10 ([MASK] / random token / unchanged) for the MLM baseline, or
//      [MASK] everywhere for ELECTRA's generator input (the discriminator then sees generator samples);
//   3. ELECTRA: sample the generator's replacements (sampleReplacements), only ever ordinary tokens.
import * as tf from "@tensorflow/tfjs";
import { CLS_ID, MASK_ID, PAD_ID, SPECIALS } from "../data/vocab";
import { Rng } from "../random";

/** Ids 0..SPECIALS.length-1 ([PAD], [UNK], [CLS], [SEP], [MASK], [BOS], [EOS]) are never chosen. */
export const FIRST_ORDINARY_ID = SPECIALS.length;

/** A position may be masked when it holds an ordinary token: not padding, not a special token. */
export function isMaskable(id: number): boolean {
  return id !== PAD_ID && id >= FIRST_ORDINARY_ID;
}

export type Corruption = "mask" | "bert";
export const CORRUPTIONS: readonly Corruption[] = ["mask", "bert"];

export interface MaskingOptions {
  /** Fraction of maskable positions to choose (default 0.15, as BERT and ELECTRA). */
  rate?: number;
  /**
   * "mask": every chosen position becomes [MASK] (ELECTRA's generator input).
   * "bert" (default): 80% [MASK], 10% a random ordinary token, 10% unchanged (BERT §3.1) — the model cannot
   * rely on [MASK] marking the positions it is scored on, which softens the pre-train/fine-tune mismatch.
   */
  corruption?: Corruption;
  /** Needed for "bert": random replacements are drawn uniformly from the ordinary ids [7, vocabSize). */
  vocabSize?: number;
}

export interface MaskedSequence {
  /** The sequence the model reads: the original with the chosen positions corrupted. */
  input: number[];
  /** Chosen positions, ascending. The loss is computed here (and only here, for an MLM). */
  positions: number[];
  /** The original ids at `positions` (the MLM targets). */
  targets: number[];
}

export function checkRate(rate: number): void {
  if (!(rate > 0 && rate <= 1)) throw new Error(`masking rate (${rate}) must be in (0, 1], e.g. 0.15.`);
}

/**
 * How many of n maskable positions to choose: rate·n, rounded stochastically (floor, plus one with
 * probability equal to the fractional part) so that the expected count is exactly rate·n and the average
 * masking rate over a corpus is `rate`; then at least 1 whenever n > 0, so every sequence teaches something.
 * (The "at least 1" rule raises the rate of sequences shorter than 1/rate ≈ 7 tokens.)
 */
export function maskCount(n: number, rate: number, rng: Rng): number {
  if (n <= 0) return 0;
  const exact = rate * n;
  let k = Math.floor(exact);
  if (rng.next() < exact - k) k++;
  return Math.min(n, Math.max(1, k));
}

/** Choose positions to mask: ids -> ascending positions (a uniformly random subset of the maskable ones). */
export function choosePositions(ids: readonly number[], rate = 0.15, rng: Rng): number[] {
  checkRate(rate);
  const candidates: number[] = [];
  ids.forEach((id, i) => isMaskable(id) && candidates.push(i));
  const k = maskCount(candidates.length, rate, rng);
  // A partial Fisher–Yates shuffle picks k distinct candidates uniformly.
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(candidates.length - i);
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return candidates.slice(0, k).sort((a, b) => a - b);
}

/** Choose ~rate of the maskable positions of `ids` and corrupt them. ids: number[] -> MaskedSequence */
export function maskTokens(ids: readonly number[], rng: Rng, opts: MaskingOptions = {}): MaskedSequence {
  const rate = opts.rate ?? 0.15;
  const corruption = opts.corruption ?? "bert";
  if (!CORRUPTIONS.includes(corruption)) throw new Error(`corruption "${corruption}" is unknown: use one of ${CORRUPTIONS.join(", ")}.`);
  const vocabSize = opts.vocabSize ?? 0;
  if (corruption === "bert" && !(Number.isInteger(vocabSize) && vocabSize > FIRST_ORDINARY_ID)) {
    throw new Error(`"bert" corruption needs vocabSize (${opts.vocabSize}) > ${FIRST_ORDINARY_ID} to draw random tokens: pass the vocabulary size.`);
  }
  const positions = choosePositions(ids, rate, rng);
  const input = [...ids];
  const targets = positions.map((p) => ids[p]);
  for (const p of positions) {
    if (corruption === "mask") {
      input[p] = MASK_ID;
      continue;
    }
    const r = rng.next();
    if (r < 0.8) input[p] = MASK_ID;
    else if (r < 0.9) input[p] = FIRST_ORDINARY_ID + rng.int(vocabSize - FIRST_ORDINARY_ID);
    // else: left unchanged, but still a target.
  }
  return { input, positions, targets };
}

/**
 * ELECTRA's labels (Clark et al. 2020, §2): 1 where the discriminator's input differs from the original,
 * 0 elsewhere — so a generator sample that happens to equal the original token is labelled ORIGINAL.
 */
export function replacedTokenLabels(original: readonly number[], corrupted: readonly number[]): number[] {
  if (original.length !== corrupted.length) {
    throw new Error(`replacedTokenLabels: original (${original.length}) and corrupted (${corrupted.length}) must have the same length.`);
  }
  return original.map((id, i) => (corrupted[i] === id ? 0 : 1));
}

/**
 * ELECTRA's replacements: one id per row of the generator's logits [n, V], drawn from softmax(logits / T)
 * restricted to ORDINARY tokens — a special id ([MASK], [PAD], [CLS], ...) is never drawn, so the discriminator
 * never reads [MASK] (Clark et al. 2020, §2). Inverse-CDF sampling with our seeded Rng, one uniform per row:
 * rows are independent and the draw is the same on every backend. (tfjs's own multinomial re-seeds every row
 * on the cpu backend, so all rows of a batch got the same draw there; issue 11, fault 5.)
 * logits: [n, V] with V > FIRST_ORDINARY_ID -> n ids in [FIRST_ORDINARY_ID, V).
 */
export function sampleReplacements(logits: tf.Tensor2D, rng: Rng, temperature = 1): number[] {
  if (logits.rank !== 2) throw new Error(`sampleReplacements expects logits [n, vocab], got [${logits.shape}].`);
  const [n, v] = logits.shape;
  if (!(v > FIRST_ORDINARY_ID)) throw new Error(`sampleReplacements: vocabulary size (${v}) must exceed the ${FIRST_ORDINARY_ID} special ids.`);
  if (!(temperature > 0)) throw new Error(`sampleReplacements: temperature (${temperature}) must be > 0, e.g. 1.`);
  if (n === 0) return [];
  const probs = tf.tidy(() => {
    const ordinary = tf.slice(logits, [0, FIRST_ORDINARY_ID], [n, v - FIRST_ORDINARY_ID]);
    return tf.softmax(temperature === 1 ? ordinary : tf.div(ordinary, temperature));
  });
  const p = probs.dataSync();
  probs.dispose();
  const w = v - FIRST_ORDINARY_ID;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    // u in [0, total): the row's own sum, so float32 rounding of the softmax cannot push u past the last id.
    let total = 0;
    for (let j = 0; j < w; j++) total += p[i * w + j];
    const u = rng.next() * total;
    let acc = 0;
    let j = 0;
    for (; j < w - 1; j++) {
      acc += p[i * w + j];
      if (u < acc) break;
    }
    out[i] = FIRST_ORDINARY_ID + j;
  }
  return out;
}

/**
 * BERT's two limitations, measured on real sequences with the masking above ([CLS] in front, as the models
 * read them): the share of input tokens that are [MASK] in pre-training (fine-tuning: none), and the share of
 * tokens that carry a training signal — for BERT the chosen positions, for ELECTRA's discriminator every token.
 * -> rows for a table: { "", BERT, ELECTRA }.
 */
export function maskingShares(seqs: number[][], opts: { rate?: number; vocabSize: number; seed?: number }): Record<string, string | number>[] {
  const rng = new Rng(opts.seed ?? 0);
  let tokens = 0;
  let masks = 0;
  let chosen = 0;
  for (const ids of seqs) {
    const m = maskTokens([CLS_ID, ...ids], rng, { rate: opts.rate, corruption: "bert", vocabSize: opts.vocabSize });
    tokens += ids.length;
    masks += m.input.filter((id) => id === MASK_ID).length;
    chosen += m.positions.length;
  }
  if (tokens === 0) throw new Error("maskingShares got no tokens: pass non-empty id sequences.");
  return [
    { "": "share of input tokens that are [MASK], pre-training", BERT: masks / tokens, ELECTRA: 0 },
    { "": "share of input tokens that are [MASK], fine-tuning", BERT: 0, ELECTRA: 0 },
    { "": "share of tokens that carry a training signal", BERT: chosen / tokens, ELECTRA: 1 },
  ];
}
