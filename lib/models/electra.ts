// ELECTRA (Clark et al. 2020): pre-training text encoders as discriminators rather than generators.
//
// A small generator (an MLM) fills the [MASK]ed ~15% of positions by SAMPLING from its softmax; the main
// model — the discriminator — reads the corrupted sequence and labels every token original or replaced
// (a sample equal to the original counts as original). Loss = L_MLM(generator) + λ·L_disc, λ = 50.
// Samples are discrete ids, so no gradient flows from the discriminator back into the generator.
// The discriminator never sees [MASK] (BERT's pre-train/fine-tune mismatch) and learns from every token.
// Generator and discriminator share token and position embeddings. Afterwards the generator is dropped and
// the main model is fine-tuned (`toClassifier`). The paper's ablations are flags (`objective`) of this one
// code path; see electra_config.ts. The model is Trainable: the ONE Trainer pre-trains it.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { TransformerEncoder } from "../nn/transformer";
import { padIds } from "../data/batching";
import { CLS_ID, Vocab } from "../data/vocab";
import { Rng } from "../random";
import { checkIds, checkShapes } from "../nn/check";
import { Trainable } from "../train/model";
import { classificationLoss } from "../train/losses";
import { Corruption, maskTokens, replacedTokenLabels, sampleReplacements } from "./masking";
import { TiedMlmHead, TokenBinaryHead, accuracyCounts, copyMixtureLoss, discriminatorLoss, flatIndicesWhere, gatherRows } from "./electra_heads";
import { ElectraBatch, ElectraConfig, ElectraEvalBatch, ElectraExplanation, ElectraMetrics, ElectraObjective, ElectraOptions, Sampler, TokenIds, resolveElectraConfig } from "./electra_config";
import { FlopsEstimate, trainingFlops } from "./flops";
import { Pooling, TransformerClassifier } from "./transformer_classifier";

export * from "./electra_config";
export { gatherRows };

const NAN = Number.NaN;

type Parts = {
  total: tf.Scalar;
  mlm?: tf.Scalar;
  main: tf.Scalar;
  discLogits?: tf.Tensor2D;
  labels?: number[];
  weights?: tf.Tensor2D;
  samples?: number[];
  corrupted?: number[];
};

export class ElectraModel extends Module implements Trainable<TokenIds, ElectraBatch> {
  readonly cfg: ElectraConfig;
  /** The model that gets fine-tuned: ELECTRA's discriminator, or the MLM encoder of the baselines. */
  readonly main: TransformerEncoder;
  /** Absent for "bert"; the same object as `main` with sharing "all". */
  readonly generator?: TransformerEncoder;
  readonly generatorHead?: TiedMlmHead;
  /** Per-token replaced/original head (electra, electra-15) or the copy gate (all-tokens-mlm). */
  readonly discHead?: TokenBinaryHead;
  /** The main model's MLM head (replace-mlm, all-tokens-mlm, bert). */
  readonly mainMlmHead?: TiedMlmHead;
  /** Set by every loss() call when trackMetrics is on (numbers only: no tensors are kept). */
  lastMetrics?: ElectraMetrics;
  /** Override the generator's sampling (default: sampleReplacements, ordinary tokens only, at the configured temperature). */
  sampler?: Sampler;
  readonly trackMetrics: boolean;
  private readonly rng: Rng;

  constructor(opts: ElectraOptions) {
    super();
    const c = (this.cfg = resolveElectraConfig(opts));
    this.trackMetrics = opts.trackMetrics ?? true;
    const rng = new Rng(c.seed);
    // ALiBi's slope scale reaches every stack (and only as an ALiBi option: the stacks refuse it otherwise).
    const slopeScale = c.positions === "alibi" ? c.alibiSlopeScale : undefined;
    const shared = { mlpRatio: c.mlpRatio, dropout: c.dropout, norm: c.norm, alibiSlopeScale: slopeScale };
    // Registered first, so shared variables are named (and checkpointed) under "main".
    this.main = this.addChild("main", new TransformerEncoder({
      ...shared, vocabSize: c.vocabSize, width: c.width, heads: c.heads, layers: c.layers, maxLen: c.maxLen,
      positions: c.positions, seed: rng.seed(),
    }));
    if (c.objective !== "bert") {
      const g = { ...shared, width: c.generatorWidth, heads: c.generatorHeads, layers: c.generatorLayers, seed: rng.seed() };
      const generator =
        c.sharing === "all" ? this.main
        : c.sharing === "embeddings"
          // Embedding dim = the main width; the stack projects it down to the generator's width.
          ? new TransformerEncoder({ ...g, embedding: this.main.embedding, positionEmbedding: this.main.positions, positions: c.positions, maxLen: c.maxLen })
          : new TransformerEncoder({ ...g, vocabSize: c.vocabSize, maxLen: c.maxLen, positions: c.positions });
      this.generator = this.addChild("generator", generator);
      this.generatorHead = this.addChild("generatorHead", new TiedMlmHead({ inDim: c.generatorWidth, embedding: generator.embedding, seed: rng.seed() }));
    }
    if (c.objective === "electra" || c.objective === "electra-15" || (c.objective === "all-tokens-mlm" && c.copyMechanism)) {
      this.discHead = this.addChild("discHead", new TokenBinaryHead(c.width, rng.seed()));
    }
    if (c.objective === "replace-mlm" || c.objective === "all-tokens-mlm" || c.objective === "bert") {
      this.mainMlmHead = this.addChild("mainMlmHead", new TiedMlmHead({ inDim: c.width, embedding: this.main.embedding, seed: rng.seed() }));
    }
    this.rng = rng.fork();
  }

  get objective(): ElectraObjective {
    return this.cfg.objective;
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  /** ids -> the model's sequence: [CLS] in front (if addCls), truncated to maxLen. */
  prepare(ids: readonly number[]): number[] {
    const c = this.cfg;
    return c.addCls ? [CLS_ID, ...ids.slice(0, c.maxLen - 1)] : ids.slice(0, c.maxLen);
  }

  collate(examples: TokenIds[]): ElectraBatch {
    return this.collateWith(examples, this.rng);
  }

  private collateWith(examples: TokenIds[], rng: Rng, corruption: Corruption = this.cfg.objective === "bert" ? "bert" : "mask"): ElectraBatch {
    if (examples.length === 0) throw new Error("collate got no examples.");
    const c = this.cfg;
    const seqs = examples.map((e) => {
      if (!Array.isArray(e.ids) || e.ids.length === 0) throw new Error("every pre-training example needs a non-empty ids array (encode the text with a Vocab first).");
      return this.prepare(e.ids);
    });
    const masked = seqs.map((s) => maskTokens(s, rng, { rate: c.maskRate, corruption, vocabSize: c.vocabSize }));
    const { ids, mask, length: t } = padIds(seqs);
    const input = padIds(masked.map((m) => m.input)).ids;
    const chosen = ids.map((row) => row.map(() => 0));
    const positions: number[] = [];
    const targets: number[] = [];
    masked.forEach((m, b) => m.positions.forEach((p, k) => {
      chosen[b][p] = 1;
      positions.push(b * t + p);
      targets.push(m.targets[k]);
    }));
    const b = seqs.length;
    return {
      ids: tf.tensor2d(ids.flat(), [b, t], "int32"),
      mask: tf.tensor2d(mask.flat(), [b, t], "float32"),
      input: tf.tensor2d(input.flat(), [b, t], "int32"),
      chosen: tf.tensor2d(chosen.flat(), [b, t], "float32"),
      positions: tf.tensor1d(positions, "int32"),
      targets: tf.tensor1d(targets, "int32"),
    };
  }

  /** Generator samples for logits [n, V]: ordinary ids drawn from softmax(logits / T), as plain numbers. */
  private sample(logits: tf.Tensor2D, rng: Rng): number[] {
    return this.sampler ? this.sampler(logits, rng) : sampleReplacements(logits, rng, this.cfg.temperature);
  }

  /** Every loss of one batch (tensors, inside the caller's tidy). The one code path for all objectives. */
  private run(batch: ElectraBatch, training: boolean, rng: Rng): Parts {
    const c = this.cfg;
    const [b, t] = batch.ids.shape;
    const n = batch.positions.shape[0];
    const mask01 = batch.mask;
    const rows = (h: tf.Tensor3D, idx: tf.Tensor1D) => gatherRows(tf.reshape(h, [b * t, h.shape[2]]) as tf.Tensor2D, idx);
    const zero = () => tf.scalar(0);
    // MLM at the chosen positions only: logits are [n, V], never [b, t, V].
    const mlmAtChosen = (head: TiedMlmHead, h: tf.Tensor3D) => (n > 0 ? classificationLoss(head.apply(rows(h, batch.positions)), batch.targets) : zero());

    if (c.objective === "bert") {
      const h = this.main.apply(batch.input, { mask01, training }).hidden;
      const main = mlmAtChosen(this.mainMlmHead!, h);
      return { total: main, main };
    }

    // 1. The generator: an MLM over [MASK]ed input, trained by its own loss.
    const hg = this.generator!.apply(batch.input, { mask01, training }).hidden;
    const genLogits = n > 0 ? this.generatorHead!.apply(rows(hg, batch.positions)) : undefined;
    const mlm = genLogits ? classificationLoss(genLogits, batch.targets) : zero();
    // 2. Sample replacements. The samples come back as JS numbers: the corrupted input is a NEW tensor, so
    //    nothing the main model does can send a gradient into the generator through them.
    const samples = genLogits ? this.sample(genLogits, rng) : [];
    const original = Array.from(batch.ids.dataSync());
    const flat = Array.from(batch.positions.dataSync());
    const corrupted = [...original];
    flat.forEach((p, k) => (corrupted[p] = samples[k]));
    const labels = replacedTokenLabels(original, corrupted); // sample == original -> 0 (original)
    const hd = this.main.apply(tf.tensor2d(corrupted, [b, t], "int32"), { mask01, training }).hidden;

    // 3. The main model's objective.
    if (c.objective === "electra" || c.objective === "electra-15") {
      const discLogits = this.discHead!.apply(hd) as tf.Tensor2D;
      const weights = c.objective === "electra" ? mask01 : batch.chosen; // ELECTRA-15%: masked positions only
      const main = discriminatorLoss(discLogits, tf.tensor2d(labels, [b, t], "float32"), weights);
      return { total: tf.add(mlm, tf.mul(c.discWeight, main)), mlm, main, discLogits, labels, weights, samples, corrupted };
    }
    let main: tf.Scalar;
    if (c.objective === "replace-mlm") {
      main = mlmAtChosen(this.mainMlmHead!, hd);
    } else {
      // All-Tokens MLM: predict the original identity of every real token.
      const mask = mask01.dataSync();
      const real = flatIndicesWhere(mask);
      const idx = tf.tensor1d(real, "int32");
      const r = rows(hd, idx);
      const logits = this.mainMlmHead!.apply(r);
      const tgt = tf.tensor1d(real.map((i) => original[i]), "int32");
      main = this.discHead
        ? copyMixtureLoss(logits, this.discHead.apply(r) as tf.Tensor1D, tf.tensor1d(real.map((i) => corrupted[i]), "int32"), tgt)
        : classificationLoss(logits, tgt);
    }
    return { total: tf.add(mlm, main) as tf.Scalar, mlm, main, samples, corrupted };
  }

  /** L_MLM + λ·L_disc (or the objective's total), a scalar. Also fills `lastMetrics` (plain numbers). */
  loss(batch: ElectraBatch, training: boolean): tf.Scalar {
    return tf.tidy(() => {
      const parts = this.run(batch, training, this.rng);
      if (this.trackMetrics) this.lastMetrics = this.readMetrics(parts);
      return parts.total;
    });
  }

  /** The loss parts as scalars (for tests and analysis): total, generator MLM, main model. */
  losses(batch: ElectraBatch, training = false): { total: tf.Scalar; mlm?: tf.Scalar; main: tf.Scalar } {
    return tf.tidy(() => {
      const p = this.run(batch, training, this.rng);
      return p.mlm ? { total: p.total, mlm: p.mlm, main: p.main } : { total: p.total, main: p.main };
    });
  }

  private readMetrics(p: Parts): ElectraMetrics {
    const isDisc = !!p.discLogits;
    // Read back as plain numbers: nothing tensor-valued outlives the loss() call.
    const extra = isDisc ? accuracyCounts(p.discLogits!, p.labels!, p.weights!) : [NAN, NAN, NAN, NAN];
    const [total, mlm, main] = Array.from(tf.stack([p.total, p.mlm ?? tf.scalar(NAN), p.main]).dataSync());
    const [rightRep, nRep, rightOrig, nOrig] = extra;
    return {
      total, mlmLoss: mlm, mainLoss: main, discLoss: isDisc ? main : NAN,
      discAccReplaced: nRep > 0 ? rightRep / nRep : NAN,
      discAccOriginal: nOrig > 0 ? rightOrig / nOrig : NAN,
      replacedFraction: isDisc && nRep + nOrig > 0 ? nRep / (nRep + nOrig) : NAN,
    };
  }

  /**
   * Held-out evaluation of a batch, without dropout, as plain numbers. Every chosen position is [MASK] for every
   * objective (no 80/10/10: BERT's loss would otherwise fall by copying the unchanged 10%). The discriminator's
   * P(replaced) and labels cover every real token but [CLS]. See lib/models/electra_eval.ts.
   */
  evaluateBatch(examples: TokenIds[], seed: number): ElectraEvalBatch {
    const rng = new Rng(seed);
    const batch = this.collateWith(examples, rng, "mask");
    try {
      let out: ElectraEvalBatch = { mlmLoss: NAN, mainLoss: NAN, masked: 0 };
      tf.tidy(() => {
        const r = this.run(batch, false, rng);
        const [mlm, main] = Array.from(tf.stack([r.mlm ?? tf.scalar(NAN), r.main]).dataSync());
        out = { mlmLoss: mlm, mainLoss: main, masked: batch.positions.shape[0] };
        if (r.discLogits) {
          const p = tf.sigmoid(r.discLogits).dataSync();
          const m = batch.mask.dataSync();
          const t = batch.ids.shape[1];
          out.probs = [];
          out.labels = [];
          for (let i = 0; i < p.length; i++) if (m[i] > 0 && (!this.cfg.addCls || i % t > 0)) (out.probs.push(p[i]), out.labels.push(r.labels![i]));
        }
      });
      return out;
    } finally {
      for (const x of Object.values(batch)) x.dispose();
    }
  }

  /**
   * One example end to end, without dropout: original -> masked -> generator samples -> corrupted ->
   * labels (-> discriminator probabilities). Seeded, so a notebook shows the same table on every run.
   */
  explain(ids: number[], opts: { seed?: number; vocab?: Vocab } = {}): ElectraExplanation {
    if (!this.generator) throw new Error(`explain() shows the generator's corruption; objective "${this.cfg.objective}" has no generator.`);
    const rng = new Rng(opts.seed ?? 0);
    const batch = this.collateWith([{ ids }], rng);
    try {
      // Plain data out of the tidy: every tensor made here is disposed.
      const p = tf.tidy(() => {
        const r = this.run(batch, false, rng);
        return { samples: r.samples!, corrupted: r.corrupted!, labels: r.labels, probs: r.discLogits ? Array.from(tf.sigmoid(r.discLogits).dataSync()) : undefined };
      });
      const original = Array.from(batch.ids.dataSync());
      const res: ElectraExplanation = {
        original, positions: Array.from(batch.positions.dataSync()), masked: Array.from(batch.input.dataSync()),
        samples: p.samples, corrupted: p.corrupted, labels: p.labels ?? replacedTokenLabels(original, p.corrupted),
      };
      if (p.probs) res.probs = p.probs;
      if (opts.vocab) {
        const v = opts.vocab;
        res.tokens = { original: v.decode(res.original), masked: v.decode(res.masked), corrupted: v.decode(res.corrupted) };
      }
      return res;
    } finally {
      for (const x of Object.values(batch)) x.dispose();
    }
  }

  /**
   * Fine-tuning: drop the generator, put a classification head on the main encoder. With copy (default
   * true) the encoder is a copy, so several fine-tuning runs (seeds) can start from one pre-trained model.
   */
  toClassifier(opts: { numClasses?: number; pooling?: Pooling; maxLen?: number; headDropout?: number; seed?: number; copy?: boolean } = {}): TransformerClassifier {
    const { copy = true, ...rest } = opts;
    const encoder = copy ? this.copyMain() : this.main;
    return TransformerClassifier.fromEncoder(encoder, { maxLen: this.cfg.maxLen, ...rest });
  }

  /** A fresh encoder of the main model's shape holding a copy of its weights. */
  private copyMain(): TransformerEncoder {
    const c = this.cfg;
    return new TransformerEncoder({
      vocabSize: c.vocabSize, width: c.width, heads: c.heads, layers: c.layers, mlpRatio: c.mlpRatio, maxLen: c.maxLen,
      positions: c.positions, alibiSlopeScale: c.positions === "alibi" ? c.alibiSlopeScale : undefined, dropout: c.dropout, norm: c.norm,
    }).copyWeightsFrom(this.main);
  }

  /**
   * Start MLM heads at the corpus's unigram distribution (TiedMlmHead.setUnigramPrior): the main model's MLM head
   * (bert, replace-mlm, all-tokens-mlm) and, with generator: true, the generator's. Left alone, ELECTRA's
   * generator starts near-uniform as in the paper, so its early samples are easy to spot: a curriculum.
   */
  setUnigramPrior(counts: ReadonlyMap<number, number>, opts: { generator?: boolean } = {}): this {
    if (opts.generator) this.generatorHead?.setUnigramPrior(counts);
    this.mainMlmHead?.setUnigramPrior(counts);
    return this;
  }

  /**
   * Two-stage pre-training: start this model's main encoder (and so the embeddings its generator shares) from
   * another model's pre-trained one — e.g. train "bert" first, then continue as "electra". Values are copied.
   */
  initMainFrom(source: ElectraModel): this {
    this.main.copyWeightsFrom(source.main);
    return this;
  }

  /** Training FLOPs per step for batches of `batchSize` sequences of `seqLen` tokens (see flops.ts). */
  trainingFlops(opts: { batchSize: number; seqLen: number }): FlopsEstimate {
    const c = this.cfg;
    return trainingFlops({
      ...opts, objective: c.objective, vocabSize: c.vocabSize, width: c.width, layers: c.layers, mlpRatio: c.mlpRatio,
      generatorWidth: c.generatorWidth, generatorLayers: c.generatorLayers,
      generatorEmbeddingDim: c.sharing === "none" ? c.generatorWidth : c.width, copyMechanism: c.copyMechanism, maskRate: c.maskRate,
    });
  }
}
