// ELECTRA's options, their defaults and their validation, in one place (shared by the model and the FLOPs
// count). Objectives are the paper's Table 5 ablations (Clark et al. 2020, §3.2), selected by ONE flag:
//   "electra"         generator fills [MASK]s by sampling; the discriminator labels every token
//   "electra-15"      same, but the discriminator loss counts only the masked (~15%) positions
//   "replace-mlm"     no [MASK] in the main model's input: masked positions hold generator samples and the
//                     main model does MLM on them
//   "all-tokens-mlm"  Replace-MLM predicting EVERY token (with the paper's copy mechanism by default)
//   "bert"            plain MLM with 80/10/10 corruption, no generator
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

export type ElectraConfig = Required<Omit<ElectraOptions, "generatorFraction" | "trackMetrics">>;

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
  return {
    vocabSize: o.vocabSize, width, heads, layers, mlpRatio: o.mlpRatio ?? 4, maxLen, positions: o.positions ?? "learned",
    dropout: o.dropout ?? 0.1, norm: o.norm ?? "post", objective, generatorWidth, generatorHeads, generatorLayers, sharing,
    maskRate, discWeight, temperature, copyMechanism: o.copyMechanism ?? true, addCls: o.addCls ?? true, seed: o.seed ?? 0,
  };
}
