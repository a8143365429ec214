// Judging pre-training before (and beside) fine-tuning (lecture 4): held-out losses against their
// context-free yardsticks, the discriminator's ranking quality, whether its sentence features collapsed, and
// what a linear probe reads off the FROZEN features.
//
//   evaluatePretraining(model, heldOut)  generator / main MLM loss with every chosen position masked; the
//                                        discriminator's loss beside the base-rate entropy, its AUC and accuracies
//   sentenceFeatures(encoder, seqs)      mean-pooled final hidden states, one vector per sequence
//   meanPairwiseCosine(features)         ~1 = collapsed (every sentence looks the same to the encoder)
//   linearProbe({ train, test })         logistic regression on frozen, standardised features -> accuracy
import * as tf from "@tensorflow/tfjs";
import { TransformerEncoder } from "../nn/transformer";
import { padIds } from "../data/batching";
import { CLS_ID } from "../data/vocab";
import { binaryCrossEntropy, binaryEntropy, rocAuc } from "../eval/binary";
import { trainProbe } from "../analysis/probe";
import { toFeatures } from "../analysis/features";
import { ElectraModel, TokenIds } from "./electra";

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
