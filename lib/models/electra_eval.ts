// Judging pre-training before (and beside) fine-tuning (lecture 4): held-out losses against their
// context-free yardsticks, the discriminator's ranking quality, whether its sentence features collapsed, and
// what a linear probe reads off the FROZEN features.
//
//   evaluatePretraining(model, heldOut)  generator / main MLM loss with every chosen position masked; the
//                                        discriminator's loss beside the base-rate entropy, its AUC and accuracies
//   sentenceFeatures(encoder, seqs)      mean-pooled final hidden states, one vector per sequence
//   meanPairwiseCosine(features)         ~1 = collapsed (every sentence looks the same to the encoder)
//   linearProbe({ train, test })         logistic regression on frozen, standardised features -> accuracy
//   bigramDetectorAuc({ train, heldOut }) the discriminator's yardstick: how well counting word pairs spots replacements
import * as tf from "@tensorflow/tfjs";
import { TransformerEncoder } from "../nn/transformer";
import { padIds } from "../data/batching";
import { CLS_ID } from "../data/vocab";
import { binaryCrossEntropy, binaryEntropy, rocAuc } from "../eval/binary";
import { trainProbe } from "../analysis/probe";
import { toFeatures } from "../analysis/features";
import { ElectraModel, TokenIds } from "./electra";
import { choosePositions, isMaskable } from "./masking";
import { Rng } from "../random";

export interface PretrainingEval {
  /** Held-out generator MLM loss in nats (NaN for "bert"). */
  generatorMlm: number;
  /** Held-out MLM loss of the main model (bert, replace-mlm, all-tokens-mlm; NaN for the ELECTRA variants). */
  mainMlm: number;
  /** Discriminator on held-out tokens (NaN without one): mean loss, and the base-rate entropy it must beat. */
  discLoss: number;
  baseRate: number;
  /** Share of tokens replaced (its binary entropy is baseRate). */
  replacedFraction: number;
  /** Ranking quality of P(replaced): 0.5 = none. */
  auc: number;
  /** Accuracy at the 0.5 threshold on replaced and on original tokens. */
  accReplaced: number;
  accOriginal: number;
  /** How many held-out tokens were replaced / original (for the AUC's standard error). */
  nReplaced: number;
  nOriginal: number;
}

/** Held-out evaluation over `heldOut` (seeded masking and sampling, no dropout), batch by batch. */
export function evaluatePretraining(model: ElectraModel, heldOut: TokenIds[], opts: { batchSize?: number; seed?: number } = {}): PretrainingEval {
  const batchSize = opts.batchSize ?? 32;
  if (heldOut.length === 0) throw new Error("evaluatePretraining got no held-out examples.");
  let gen = 0;
  let main = 0;
  let masked = 0;
  const probs: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < heldOut.length; i += batchSize) {
    const r = model.evaluateBatch(heldOut.slice(i, i + batchSize), (opts.seed ?? 0) + i);
    gen += r.mlmLoss * r.masked;
    main += r.mainLoss * r.masked;
    masked += r.masked;
    if (r.probs && r.labels) for (let k = 0; k < r.probs.length; k++) (probs.push(r.probs[k]), labels.push(r.labels[k]));
  }
  const hasDisc = probs.length > 0;
  const replaced = labels.reduce((s, y) => s + y, 0);
  const acc = (cls: number) => {
    let right = 0;
    let n = 0;
    labels.forEach((y, k) => y === cls && (n++, (probs[k] > 0.5 ? 1 : 0) === cls && right++));
    return n ? right / n : Number.NaN;
  };
  const r = hasDisc ? replaced / labels.length : Number.NaN;
  return {
    generatorMlm: model.generator ? gen / masked : Number.NaN,
    mainMlm: model.discHead && !model.mainMlmHead ? Number.NaN : main / masked,
    discLoss: hasDisc ? binaryCrossEntropy(probs, labels) : Number.NaN,
    baseRate: hasDisc ? binaryEntropy(r) : Number.NaN,
    replacedFraction: r,
    auc: hasDisc ? rocAuc(probs, labels) : Number.NaN,
    accReplaced: hasDisc ? acc(1) : Number.NaN,
    accOriginal: hasDisc ? acc(0) : Number.NaN,
    nReplaced: replaced,
    nOriginal: labels.length - replaced,
  };
}

/**
 * Mean-pooled final hidden states of a frozen encoder, no dropout: seqs (ids, [CLS] prepended when addCls,
 * truncated to the encoder's maxLen) -> one vector of `width` numbers per sequence.
 */
export function sentenceFeatures(encoder: TransformerEncoder, seqs: number[][], opts: { batchSize?: number; addCls?: boolean } = {}): number[][] {
  const batchSize = opts.batchSize ?? 64;
  const out: number[][] = [];
  for (let i = 0; i < seqs.length; i += batchSize) {
    const rows = seqs.slice(i, i + batchSize).map((s) => (opts.addCls ?? true ? [CLS_ID, ...s] : s).slice(0, encoder.maxLen));
    const { ids, mask, length } = padIds(rows.map((r) => (r.length ? r : [CLS_ID])));
    const pooled = tf.tidy(() => {
      const m = tf.tensor2d(mask.flat(), [rows.length, length]);
      const h = encoder.apply(tf.tensor2d(ids.flat(), [rows.length, length], "int32"), { mask01: m }).hidden;
      return tf.div(tf.sum(tf.mul(h, tf.expandDims(m, 2)), 1), tf.expandDims(tf.sum(m, 1), 1));
    });
    const v = pooled.arraySync() as number[][];
    pooled.dispose();
    out.push(...v);
  }
  return out;
}

/** Mean cosine similarity over all pairs of distinct vectors: ~1 means the features collapsed to one direction. */
export function meanPairwiseCosine(features: number[][]): number {
  const n = features.length;
  if (n < 2) throw new Error(`meanPairwiseCosine needs at least 2 vectors, got ${n}.`);
  const d = features[0].length;
  const sum = new Float64Array(d);
  for (const f of features) {
    const norm = Math.hypot(...f) || 1;
    for (let j = 0; j < d; j++) sum[j] += f[j] / norm;
  }
  // |Σ u_i|² = n + Σ_{i≠j} cos(i, j) for unit vectors u_i.
  let sq = 0;
  for (let j = 0; j < d; j++) sq += sum[j] * sum[j];
  return (sq - n) / (n * (n - 1));
}

interface Featured {
  x: number[];
  label: number;
}

export interface LinearProbeOptions {
  train: Featured[];
  test: Featured[];
  numClasses?: number;
  /** Passes over the training set (default 30; lib/analysis/probe keeps the epoch with the lowest held-out loss). */
  epochs?: number;
  learningRate?: number;
  seed?: number;
}

/**
 * A linear probe on frozen features -> test accuracy: lib/analysis/probe.ts's trainProbe (logistic regression
 * on features standardised with the training set's statistics, the course's one probe), on { x, label } rows.
 */
export async function linearProbe(o: LinearProbeOptions): Promise<number> {
  if (o.train.length === 0 || o.test.length === 0) throw new Error("linearProbe needs training and test examples.");
  const labelled = (xs: Featured[]) => ({ features: toFeatures(xs.map((e) => e.x)), labels: xs.map((e) => e.label) });
  const r = await trainProbe({
    train: labelled(o.train), test: labelled(o.test), kind: "linear", numClasses: o.numClasses,
    epochs: o.epochs ?? 30, batchSize: 64, learningRate: o.learningRate, seed: o.seed,
  });
  return r.testAccuracy;
}

export interface BigramDetectorOptions {
  /** Windows to count word pairs in: e.g. exactly the windows pre-training read (steps × batch of them). */
  train: TokenIds[];
  /** Windows to corrupt and score (never counted). */
  heldOut: TokenIds[];
  /** Share of ordinary tokens replaced, chosen by the models' own masking code (default 0.15). */
  maskRate?: number;
  /** Add-k smoothing of P(b | a) toward P(b), in pseudo-counts (default 10). */
  smoothing?: number;
  seed?: number;
}

/**
 * The discriminator's yardstick, as the unigram entropy is the MLM's: how well could replacements be spotted from
 * the neighbours alone, with what the same text teaches by COUNTING? Each chosen ordinary token of `heldOut` is
 * replaced by a sample from the unigram distribution of `train` (a generator that knows the token frequencies and
 * nothing else); every token is then scored by how surprising it is next to its neighbours,
 *   score(x_i) = -PMI(x_{i-1}, x_i) - PMI(x_i, x_{i+1}),  PMI(a, b) = log P(b | a) / P(b)  (bigram counts of `train`),
 * and ranked: the AUC of that score against the replaced/original labels (0.5 = no better than chance). A count
 * table needs no training; a discriminator far below it has not yet learned what its data contains.
 */
export function bigramDetectorAuc(o: BigramDetectorOptions): { auc: number; nReplaced: number; nOriginal: number; countedTokens: number } {
  const rate = o.maskRate ?? 0.15;
  const k = o.smoothing ?? 10;
  if (!(Array.isArray(o.train) && o.train.length > 0 && Array.isArray(o.heldOut) && o.heldOut.length > 0)) throw new Error("bigramDetectorAuc needs non-empty train and heldOut window lists (e.g. corpus.train, corpus.heldOut).");
  if (!(rate > 0 && rate < 1)) throw new Error(`bigramDetectorAuc maskRate (${rate}) must be in (0, 1), e.g. 0.15 (the share of tokens replaced).`);
  if (!(k > 0)) throw new Error(`bigramDetectorAuc smoothing (${k}) must be a positive pseudo-count, e.g. 10.`);
  const uni = new Map<number, number>();
  const pairs = new Map<string, number>();
  let total = 0;
  for (const { ids } of o.train) {
    ids.forEach((id, i) => {
      uni.set(id, (uni.get(id) ?? 0) + 1);
      total++;
      if (i > 0) pairs.set(`${ids[i - 1]},${id}`, (pairs.get(`${ids[i - 1]},${id}`) ?? 0) + 1);
    });
  }
  let vocab = 0;
  for (const id of uni.keys()) vocab = Math.max(vocab, id + 1);
  for (const { ids } of o.heldOut) for (const id of ids) vocab = Math.max(vocab, id + 1);
  const p = (x: number) => ((uni.get(x) ?? 0) + 0.5) / (total + 0.5 * vocab);
  const pmi = (a: number, b: number) => Math.log(((pairs.get(`${a},${b}`) ?? 0) + k * p(b)) / ((uni.get(a) ?? 0) + k) / p(b));
  // The sampler: the unigram distribution of the ordinary tokens that choosePositions may replace.
  const choices = [...uni.entries()].filter(([id]) => isMaskable(id));
  const cumulative: number[] = [];
  choices.reduce((sum, [, n]) => (cumulative.push(sum + n), sum + n), 0);
  const rng = new Rng(o.seed ?? 0);
  const sample = () => {
    const r = rng.next() * cumulative[cumulative.length - 1];
    let lo = 0;
    for (let hi = cumulative.length - 1; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] <= r) lo = mid + 1;
      else hi = mid;
    }
    return choices[lo][0];
  };
  const scores: number[] = [];
  const labels: number[] = [];
  for (const { ids } of o.heldOut) {
    const c = [...ids];
    for (const i of choosePositions(ids, rate, rng)) c[i] = sample();
    c.forEach((x, i) => {
      scores.push((i > 0 ? -pmi(c[i - 1], x) : 0) + (i + 1 < c.length ? -pmi(x, c[i + 1]) : 0));
      labels.push(x !== ids[i] ? 1 : 0);
    });
  }
  const nReplaced = labels.reduce((a, b) => a + b, 0);
  return { auc: rocAuc(scores, labels), nReplaced, nOriginal: labels.length - nReplaced, countedTokens: total };
}
