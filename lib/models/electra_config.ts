// ELECTRA's options, their defaults and their validation, in one place (shared by the model and the FLOPs
// count). Objectives are the paper's Table 5 ablations (Clark et al. 2020, §3.2), selected by ONE flag:
//   "electra"         generator fills [MASK]s by sampling; the discriminator labels every token
//   "electra-15"      same, but the discriminator loss counts only the masked (~15%) positions
//   "replace-mlm"     no [MASK] in the main model's input: masked positions hold generator samples and the
//                     main model does MLM on them
//   "all-tokens-mlm"  Replace-MLM predicting EVERY token (with the paper's copy mechanism by default)
//   "bert"            plain MLM with 80/10/10 corruption, no generator
// Below the options: the shapes of the data that flow through the model (batches, metrics, explanations).
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { NormPlacement, PositionScheme } from "../nn/transformer";

export type ElectraObjective = "electra" | "electra-15" | "replace-mlm" | "all-tokens-mlm" | "bert";
export const ELECTRA_OBJECTIVES: readonly ElectraObjective[] = ["electra", "electra-15", "replace-mlm", "all-tokens-mlm", "bert"];

/** What the generator shares with the main model: nothing, token + position embeddings, or everything. */
export type WeightSharing = "none" | "embeddings" | "all";
export const WEIGHT_SHARINGS: readonly WeightSharing[] = ["none", "embeddings", "all"];

export interface ElectraOptions {
  vocabSize: number;
  /** Width of the main model (the discriminator; BERT's encoder) (default 128). */
  width?: number;
  heads?: number;
  layers?: number;
  mlpRatio?: number;
  /** Longest sequence, [CLS] included; longer inputs are truncated (default 64). */
  maxLen?: number;
  /** How word order enters (default "learned"); "alibi" or "t5" put a relative bias on the attention scores. */
  positions?: PositionScheme;
  /** With positions "alibi": multiplies every head's slope, the generator's too (default 1, the paper's; see alibiSlopes). */
  alibiSlopeScale?: number;
  dropout?: number;
  norm?: NormPlacement;
  /** Which pre-training objective (default "electra"). */
  objective?: ElectraObjective;
  /** Generator width as a fraction of `width` (default 1/4; the paper finds 1/4–1/2 best). */
  generatorFraction?: number;
  /** Exact generator width (overrides generatorFraction). */
  generatorWidth?: number;
  /** Generator heads (default: keep the main model's head size, rounded to a divisor of the width). */
  generatorHeads?: number;
  /** Generator layers (default: as many as the main model; ELECTRA shrinks width, not depth). */
  generatorLayers?: number;
  /** Default "embeddings"; "all" needs a generator of the main model's size. */
  sharing?: WeightSharing;
  /** Fraction of ordinary tokens masked per sequence (default 0.15). */
  maskRate?: number;
  /** λ in L_MLM + λ·L_disc (default 50). Used by "electra" and "electra-15" only. */
  discWeight?: number;
  /** Sampling temperature of the generator (default 1). */
  temperature?: number;
  /** All-Tokens MLM: mix copying the input token with the MLM softmax (default true, as the paper). */
  copyMechanism?: boolean;
  /** Prepend [CLS] to every sequence, as fine-tuning with "cls" pooling expects (default true). */
  addCls?: boolean;
  /** Read loss parts and accuracies into `lastMetrics` after each loss() call (default true). */
  trackMetrics?: boolean;
  seed?: number;
}

// alibiSlopeScale stays optional: present only when it is not 1, so the configs (and the checkpoint caches keyed
// on them) of every model built before the option existed are unchanged.
export type ElectraConfig = Required<Omit<ElectraOptions, "generatorFraction" | "trackMetrics" | "alibiSlopeScale">> & { alibiSlopeScale?: number };

function positiveInt(what: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${what} (${v}) must be a positive integer.`);
}

/** Generator heads: the main model's head size kept where possible, then the largest divisor of the width below it. */
export function defaultGeneratorHeads(width: number, heads: number, generatorWidth: number): number {
  const headDim = width / heads;
  let h = Math.max(1, Math.min(generatorWidth, Math.round(generatorWidth / headDim)));
  while (generatorWidth % h !== 0) h--;
  return h;
}

/** Fill in defaults and validate; every error names the value and the fix. */
export function resolveElectraConfig(o: ElectraOptions): ElectraConfig {
  if (!o || o.vocabSize === undefined) throw new Error("ElectraModel needs vocabSize (e.g. vocab.size).");
  const width = o.width ?? 128;
  const heads = o.heads ?? 4;
  const layers = o.layers ?? 2;
  positiveInt("vocabSize", o.vocabSize);
  positiveInt("width", width);
  positiveInt("heads", heads);
  positiveInt("layers", layers);
  if (width % heads !== 0) throw new Error(`heads (${heads}) must divide width (${width}).`);
  const objective = o.objective ?? "electra";
  if (!ELECTRA_OBJECTIVES.includes(objective)) throw new Error(`objective "${objective}" is unknown: use one of ${ELECTRA_OBJECTIVES.join(", ")}.`);
  const sharing = o.sharing ?? "embeddings";
  if (!WEIGHT_SHARINGS.includes(sharing)) throw new Error(`sharing "${sharing}" is unknown: use one of ${WEIGHT_SHARINGS.join(", ")}.`);
  const fraction = o.generatorFraction ?? (sharing === "all" ? 1 : 0.25);
  if (!(fraction > 0 && fraction <= 4)) throw new Error(`generatorFraction (${fraction}) must be in (0, 4], e.g. 0.25 or 0.5.`);
  const generatorWidth = o.generatorWidth ?? Math.max(1, Math.round(width * fraction));
  positiveInt("generatorWidth", generatorWidth);
  const generatorLayers = o.generatorLayers ?? layers;
  positiveInt("generatorLayers", generatorLayers);
  const generatorHeads = o.generatorHeads ?? defaultGeneratorHeads(width, heads, generatorWidth);
  positiveInt("generatorHeads", generatorHeads);
  if (generatorWidth % generatorHeads !== 0) {
    throw new Error(`generatorHeads (${generatorHeads}) must divide generatorWidth (${generatorWidth}): leave it out to pick one automatically.`);
  }
  if (sharing === "all" && objective !== "bert" && (generatorWidth !== width || generatorLayers !== layers || generatorHeads !== heads)) {
    throw new Error(
      `sharing "all" needs a generator of the main model's size (generator ${generatorWidth} wide × ${generatorLayers} layers × ${generatorHeads} heads, ` +
        `main ${width} × ${layers} × ${heads}): use sharing "embeddings" or generatorFraction 1.`,
    );
  }
  const maskRate = o.maskRate ?? 0.15;
  if (!(maskRate > 0 && maskRate <= 1)) throw new Error(`maskRate (${maskRate}) must be in (0, 1], e.g. 0.15.`);
  const discWeight = o.discWeight ?? 50;
  if (!(discWeight >= 0 && Number.isFinite(discWeight))) throw new Error(`discWeight (${discWeight}) must be a non-negative number, e.g. 50.`);
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`temperature (${temperature}) must be > 0, e.g. 1.`);
  const maxLen = o.maxLen ?? 64;
  positiveInt("maxLen", maxLen);
  const positions = o.positions ?? "learned";
  const alibiSlopeScale = o.alibiSlopeScale ?? 1;
  if (!(alibiSlopeScale > 0 && Number.isFinite(alibiSlopeScale))) throw new Error(`alibiSlopeScale (${alibiSlopeScale}) must be a positive number, e.g. 1 or 4.`);
  if (alibiSlopeScale !== 1 && positions !== "alibi") throw new Error(`alibiSlopeScale (${alibiSlopeScale}) applies to positions "alibi" only (positions are "${positions}"): leave it out.`);
  return {
    vocabSize: o.vocabSize, width, heads, layers, mlpRatio: o.mlpRatio ?? 4, maxLen, positions,
    ...(alibiSlopeScale !== 1 ? { alibiSlopeScale } : {}),
    dropout: o.dropout ?? 0.1, norm: o.norm ?? "post", objective, generatorWidth, generatorHeads, generatorLayers, sharing,
    maskRate, discWeight, temperature, copyMechanism: o.copyMechanism ?? true, addCls: o.addCls ?? true, seed: o.seed ?? 0,
  };
}

/** A pre-training example: token ids (no [CLS]; collate adds it). LabelledIds fits, its label is ignored. */
export interface TokenIds {
  ids: number[];
}

export type ElectraBatch = {
  /** [b, t] int32: the original sequences ([CLS] first unless addCls is false). */
  ids: tf.Tensor2D;
  /** [b, t] float32: 1 = real token. */
  mask: tf.Tensor2D;
  /** [b, t] int32: [MASK] at the chosen positions (generator input), or BERT's 80/10/10 corruption. */
  input: tf.Tensor2D;
  /** [b, t] float32: 1 at the chosen positions. */
  chosen: tf.Tensor2D;
  /** [n] int32: flat indices (row·t + column) of the chosen positions, row by row. */
  positions: tf.Tensor1D;
  /** [n] int32: the original ids there (MLM targets). */
  targets: tf.Tensor1D;
};

/** The last loss() call's parts, as plain numbers (NaN where a part does not apply). */
export interface ElectraMetrics {
  total: number;
  /** The generator's MLM loss (NaN for "bert"). */
  mlmLoss: number;
  /** The main model's loss: the binary discriminator loss (electra variants) or its MLM loss. */
  mainLoss: number;
  /** Binary discriminator loss, before λ (electra, electra-15). */
  discLoss: number;
  /** Discriminator accuracy on replaced / on original tokens, over the positions its loss counts. */
  discAccReplaced: number;
  discAccOriginal: number;
  /** Fraction of those positions that were replaced (falls as the generator improves). */
  replacedFraction: number;
}

/** One example end to end, as plain data for a table (ids; `tokens` fields when a Vocab is given). */
export interface ElectraExplanation {
  original: number[];
  /** Chosen positions (into `original`). */
  positions: number[];
  /** The generator's input: [MASK] at the chosen positions. */
  masked: number[];
  /** The generator's sample at each chosen position. */
  samples: number[];
  /** The main model's input. */
  corrupted: number[];
  /** 1 = replaced (differs from the original), 0 = original. */
  labels: number[];
  /** Discriminator P(replaced) per token ("electra" and "electra-15" only). */
  probs?: number[];
  tokens?: { original: string[]; masked: string[]; corrupted: string[] };
}

/** One held-out batch: mean losses over its masked positions, and the discriminator's view of each token. */
export interface ElectraEvalBatch {
  /** Generator MLM loss (NaN for "bert"). */
  mlmLoss: number;
  /** The main model's loss: its MLM loss (bert, replace-mlm, all-tokens-mlm) or the binary discriminator loss. */
  mainLoss: number;
  /** How many positions were masked (the weight of this batch's MLM losses). */
  masked: number;
  /** Discriminator P(replaced) and labels (1 = replaced) per real token, [CLS] left out ("electra", "electra-15"). */
  probs?: number[];
  labels?: number[];
}

/** Replaces the generator's sampling (tests force known samples): logits [n, V] -> n ids. */
export type Sampler = (logits: tf.Tensor2D, rng: Rng) => number[];
