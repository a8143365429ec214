// The output heads and losses of ELECTRA (Clark et al. 2020) and its MLM baselines.
//
//   TiedMlmHead        hidden -> dense -> GELU -> LayerNorm -> logits = h·Eᵀ + b, E the token embedding
//                      table (tied, as BERT and ELECTRA do; the generator projects back UP to E's dim).
//   TokenBinaryHead    hidden -> dense -> GELU -> one logit per token: "was this token replaced?"
//   discriminatorLoss  sigmoid cross-entropy averaged over the positions that count (weights = 1).
//   copyMixtureLoss    All-Tokens MLM's copy mechanism (Clark et al. 2020, §3.2 footnote).
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Embedding, LayerNorm, Linear, activate } from "../nn/layers";
import { Rng } from "../random";
import { checkIds, checkShapes } from "../nn/check";
import { targetLogProbs } from "../train/losses";

export interface TiedMlmHeadOptions {
  /** Width of the hidden states it reads (the generator's or the main model's width). */
  inDim: number;
  /** The token embedding whose table is the output layer; its dim is the head's inner width. */
  embedding: Embedding;
  seed?: number;
}

/** x: [n, inDim] -> logits [n, vocabSize]. Only the embedding table is shared; dense, norm, bias are its own. */
export class TiedMlmHead extends Module {
  readonly dense: Linear;
  readonly norm: LayerNorm;
  readonly bias: tf.Variable;
  constructor(private readonly opts: TiedMlmHeadOptions) {
    super();
    const dim = opts.embedding.dim;
    this.dense = this.addChild("dense", new Linear({ inDim: opts.inDim, outDim: dim, seed: opts.seed ?? 0 }));
    this.norm = this.addChild("norm", new LayerNorm(dim));
    this.bias = this.addParam("bias", tf.zeros([opts.embedding.vocabSize]));
    // The table is read through opts.embedding, NOT registered here: its owner (the encoder) counts it once.
  }
  /**
   * Start the output bias at the log of the unigram distribution (counts by id; unseen ids get a count of 0.5,
   * so nothing is impossible): at step 0 the head already predicts the corpus's token frequencies, the best a
   * model without context can do, and training spends its steps on the context instead of first climbing to
   * that plateau (with Adam's ~lr-sized steps, the bias alone would need thousands of steps to get there).
   */
  setUnigramPrior(counts: ReadonlyMap<number, number>): void {
    // assign copies the values: the temporary tensor must be freed (it leaked one tensor per call before).
    tf.tidy(() => this.bias.assign(tf.tensor1d(unigramLogProbs(counts, this.opts.embedding.vocabSize))));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.norm.apply(activate(this.dense.apply(x), "gelu")) as tf.Tensor2D;
      return tf.add(tf.matMul(h, this.opts.embedding.table as tf.Tensor2D, false, true), this.bias) as tf.Tensor2D;
    });
  }
}

/**
 * The unigram distribution as log-probabilities over ids 0..vocabSize-1, from counts by id; an id without a count
 * gets 0.5 (so nothing is impossible, special tokens included). The MLM heads' starting point (setUnigramPrior)
 * and the yardstick every held-out MLM loss is read against (a context-free model's loss), in one place.
 */
export function unigramLogProbs(counts: ReadonlyMap<number, number>, vocabSize: number): number[] {
  for (const [id, n] of counts) if (!(Number.isInteger(id) && id >= 0 && id < vocabSize && n >= 0)) throw new Error(`unigramLogProbs: id ${id} (count ${n}) is outside the vocabulary 0..${vocabSize - 1} or negative.`);
  const c = Array.from({ length: vocabSize }, (_, id) => counts.get(id) ?? 0.5);
  const total = c.reduce((a, b) => a + b, 0);
  return c.map((n) => Math.log(n / total));
}

/** x: [..., width] -> [...] logits of "replaced" (ELECTRA's discriminator head: dense, GELU, dense to 1). */
export class TokenBinaryHead extends Module {
  readonly dense: Linear;
  readonly out: Linear;
  constructor(width: number, seed = 0) {
    super();
    const rng = new Rng(seed);
    this.dense = this.addChild("dense", new Linear({ inDim: width, outDim: width, seed: rng.seed() }));
    this.out = this.addChild("out", new Linear({ inDim: width, outDim: 1, seed: rng.seed() }));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.squeeze(this.out.apply(activate(this.dense.apply(x), "gelu")), [x.rank - 1]));
  }
}

/**
 * ELECTRA's discriminator loss: mean over weighted positions of the sigmoid cross-entropy
 *   -[y·log σ(z) + (1-y)·log(1-σ(z))] = softplus(z) - y·z   (the stable form).
 * logits, labels, weights: same shape (e.g. [b, t]); weights 1 = counts (real tokens, or only the masked
 * positions for ELECTRA-15%), 0 = ignored (padding). -> scalar
 */
export function discriminatorLoss(logits: tf.Tensor, labels: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  const dims = logits.shape.map((_, i) => `d${i}`);
  checkShapes("discriminatorLoss", { logits: [logits, dims], labels: [labels, dims], weights: [weights, dims] }, "Give one label and one weight per logit.");
  return tf.tidy(() => {
    const y = tf.cast(labels, "float32");
    const w = tf.cast(weights, "float32");
    const perToken = tf.sub(tf.softplus(logits), tf.mul(y, logits));
    return tf.div(tf.sum(tf.mul(perToken, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}

/**
 * All-Tokens MLM with a copy mechanism (Clark et al. 2020, §3.2): a sigmoid gate D per token puts D on
 * copying the input token and 1-D on the MLM softmax:  p(x_i) = D·[x_i = input_i] + (1-D)·softmax(logits)_x_i.
 * logits: [n, V], copyLogits: [n], inputs/targets: [n] int32 -> mean of -log p(target), a scalar.
 */
export function copyMixtureLoss(logits: tf.Tensor2D, copyLogits: tf.Tensor1D, inputs: tf.Tensor1D, targets: tf.Tensor1D): tf.Scalar {
  checkShapes("copyMixtureLoss", { logits: [logits, ["n", "V"]], copyLogits: [copyLogits, ["n"]], inputs: [inputs, ["n"]], targets: [targets, ["n"]] });
  return tf.tidy(() => {
    const logp = targetLogProbs(logits, targets); // checks every target is in [0, V) (tf.oneHot would give 0 for one that is not)
    const same = tf.cast(tf.equal(inputs, targets), "float32");
    // log p = logsumexp(log D + log[same], log(1-D) + log p_mlm); log σ(z) = -softplus(-z), log(1-σ(z)) = -softplus(z).
    const logCopy = tf.add(tf.neg(tf.softplus(tf.neg(copyLogits))), tf.mul(tf.sub(same, 1), 1e4));
    const logGen = tf.add(tf.neg(tf.softplus(copyLogits)), logp);
    const m = tf.maximum(logCopy, logGen);
    const lse = tf.add(m, tf.log(tf.add(tf.exp(tf.sub(logCopy, m)), tf.exp(tf.sub(logGen, m)))));
    return tf.neg(tf.mean(lse)) as tf.Scalar;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Helpers of the loss code path.

/**
 * x[idx] for distinct row indices: x: [m, w], idx: [n] int32 -> [n, w]. Its gradient is one scatter of dy
 * into zeros (tf.gather's default, an unsorted segment sum, loops over all m rows on the cpu backend).
 */
export function gatherRows(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const shape = x.shape;
  checkShapes("gatherRows", { x: [x, ["m", "w"]], idx: [idx, ["n"]] });
  checkIds("gatherRows", "row index", idx, shape[0], `indices must be rows of x [${shape}].`);
  // idx is an input (and saved) so that it is still alive when the backward pass runs.
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, indices, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.gather(input, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(tf.expandDims(saved[0], 1), dy, shape), tf.zeros(saved[0].shape)],
    };
  });
  return f(x, idx) as tf.Tensor2D;
}

export function flatIndicesWhere(mask: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) out.push(i);
  return out;
}

/** [right on replaced, #replaced, right on original, #original] over positions with weight 1. */
export function accuracyCounts(logits: tf.Tensor2D, labels: number[], weights: tf.Tensor2D): number[] {
  const z = logits.dataSync();
  const w = weights.dataSync();
  const c = [0, 0, 0, 0];
  labels.forEach((y, i) => {
    if (!(w[i] > 0)) return;
    const predReplaced = z[i] > 0;
    if (y === 1) (c[1]++, predReplaced && c[0]++);
    else (c[3]++, !predReplaced && c[2]++);
  });
  return c;
}
