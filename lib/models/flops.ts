// Compute accounting: training FLOPs per step for ELECTRA, its ablations and BERT, so downstream quality can
// be plotted against pre-training compute (Clark et al. 2020, Fig. 1 and Table 1 count FLOPs this way), and for
// the T5 family of seq2seq transformers, so architectures can be compared at equal compute (Raffel et al. 2020,
// §3.2.2: an encoder-decoder of L + L layers costs about what an L-layer decoder-only model costs, with twice
// the parameters).
//
// What is counted (a multiply-add is 2 FLOPs; an [m, k]·[k, n] matmul is 2·m·k·n):
//   per token, per transformer layer of width d, MLP width f = round(d·mlpRatio), sequence length t:
//     fused Q|K|V projection 2·d·3d + attention output projection 2·d·d + MLP 2·d·f + 2·f·d    (matmuls)
//     attention scores Q·Kᵀ 2·t·d + weighted sum of values 2·t·d                              (all heads)
//   cross-attention (a decoder over a context of s tokens), per query token: Q and output projections 2·d·d
//     each, scores and weighted sum 4·s·d; per context token: the K|V projection 2·d·2d
//   per token: the embedding projection 2·e·d when the embedding dim e differs from d (a small generator)
//   per predicted token: MLM head dense 2·d·e + tied output layer 2·e·V
//   per scored token: binary head (dense d->d, then d->1) 2·d·d + 2·d
// Not counted: embedding lookups, biases, layer norms, softmaxes, GELUs, sampling — all O(t·d) or less.
// Training ≈ 3 × forward: the backward pass costs about twice the forward (gradients for both the inputs
// and the weights of every matmul).
import { ElectraObjective } from "./electra_config";
import { Seq2SeqArchitecture, checkArchitecture } from "./seq2seq/architectures";

export interface BlockFlopsSpec {
  width: number;
  layers: number;
  mlpRatio: number;
  /** Tokens the blocks run over. */
  queries: number;
  /** Keys each query's self-attention scores (all of them: a causal mask hides scores, it does not skip them). */
  keys: number;
  /** Context length of a cross-attention sub-layer in every block (a seq2seq decoder); 0 or absent: none. */
  contextLength?: number;
}

/** Forward FLOPs of `layers` transformer blocks over `queries` tokens of ONE sequence (see the top of this file). */
export function blockFlops(s: BlockFlopsSpec): number {
  const d = s.width;
  const f = Math.round(d * s.mlpRatio);
  const perToken = 2 * d * 3 * d + 2 * d * d + 2 * d * f + 2 * f * d + 4 * s.keys * d;
  const c = s.contextLength ?? 0;
  const cross = c > 0 ? s.queries * (2 * d * d + 2 * d * d + 4 * c * d) + c * 2 * d * 2 * d : 0;
  return s.layers * (s.queries * perToken + cross);
}

export interface EncoderFlopsSpec {
  width: number;
  layers: number;
  mlpRatio: number;
  /** Dim of the token embeddings; a projection to width is counted when it differs. */
  embeddingDim: number;
  seqLen: number;
}

/** Forward FLOPs of a transformer encoder over ONE sequence of seqLen tokens. */
export function encoderForwardFlops(s: EncoderFlopsSpec): number {
  const t = s.seqLen;
  const projection = s.embeddingDim !== s.width ? 2 * s.embeddingDim * s.width : 0;
  return blockFlops({ width: s.width, layers: s.layers, mlpRatio: s.mlpRatio, queries: t, keys: t }) + t * projection;
}

/** Forward FLOPs of a tied MLM head for ONE predicted token: dense inDim -> e, then logits over V. */
export function mlmHeadFlops(inDim: number, embeddingDim: number, vocabSize: number): number {
  return 2 * inDim * embeddingDim + 2 * embeddingDim * vocabSize;
}

/** Forward FLOPs of the per-token binary head (dense d -> d, dense d -> 1) for ONE token. */
export function binaryHeadFlops(width: number): number {
  return 2 * width * width + 2 * width;
}

export interface FlopsConfig {
  objective: ElectraObjective;
  vocabSize: number;
  /** The main model (discriminator, or BERT's encoder). */
  width: number;
  layers: number;
  mlpRatio: number;
  /** Generator size (ignored for "bert"). */
  generatorWidth: number;
  generatorLayers: number;
  /** The generator's token-embedding dim: the main width when embeddings are shared, else generatorWidth. */
  generatorEmbeddingDim: number;
  /** All-Tokens MLM only: the copy gate (a binary head) per token. */
  copyMechanism?: boolean;
  maskRate: number;
  seqLen: number;
  batchSize: number;
  /** Predicted (masked) tokens per sequence; default maskRate·seqLen (full-length sequences). */
  maskedPerSequence?: number;
}

export interface FlopsEstimate {
  /** Forward FLOPs per step of the generator (encoder + MLM head at masked positions); 0 for BERT. */
  generatorForward: number;
  /** Forward FLOPs per step of the main model (encoder + its head(s)). */
  mainForward: number;
  forward: number;
  /** ≈ 3 × forward: the number to plot quality against (per step; multiply by steps for a run). */
  training: number;
}

/** Training FLOPs per step (batchSize sequences of seqLen tokens) for generator + main model. */
export function trainingFlops(c: FlopsConfig): FlopsEstimate {
  for (const k of ["vocabSize", "width", "layers", "seqLen", "batchSize"] as const) {
    if (!(Number.isInteger(c[k]) && c[k] > 0)) throw new Error(`trainingFlops: ${k} (${c[k]}) must be a positive integer.`);
  }
  const t = c.seqLen;
  const masked = c.maskedPerSequence ?? c.maskRate * t;
  let gen = 0;
  if (c.objective !== "bert") {
    gen = encoderForwardFlops({ width: c.generatorWidth, layers: c.generatorLayers, mlpRatio: c.mlpRatio, embeddingDim: c.generatorEmbeddingDim, seqLen: t });
    gen += masked * mlmHeadFlops(c.generatorWidth, c.generatorEmbeddingDim, c.vocabSize);
  }
  let main = encoderForwardFlops({ width: c.width, layers: c.layers, mlpRatio: c.mlpRatio, embeddingDim: c.width, seqLen: t });
  const mlm = mlmHeadFlops(c.width, c.width, c.vocabSize);
  switch (c.objective) {
    case "electra":
    case "electra-15":
      main += t * binaryHeadFlops(c.width); // both score every token; ELECTRA-15% only weights the loss
      break;
    case "replace-mlm":
    case "bert":
      main += masked * mlm;
      break;
    case "all-tokens-mlm":
      main += t * (mlm + (c.copyMechanism ?? true ? binaryHeadFlops(c.width) : 0));
      break;
    default:
      throw new Error(`objective "${c.objective}" is unknown.`);
  }
  const forward = c.batchSize * (gen + main);
  return { generatorForward: c.batchSize * gen, mainForward: c.batchSize * main, forward, training: 3 * forward };
}

export interface Seq2SeqFlopsSpec {
  architecture: Seq2SeqArchitecture;
  width: number;
  mlpRatio: number;
  /** Encoder-decoder: the two stacks' depths. Single-stack architectures: `decoderLayers` is the stack's depth. */
  encoderLayers: number;
  decoderLayers: number;
  vocabSize: number;
  /** Source tokens per example (mean over the data is fine for a per-step estimate). */
  sourceLength: number;
  /** Target tokens per example, EOS included (= the decoder's input length, BOS included). */
  targetLength: number;
  batchSize: number;
}

/**
 * Training FLOPs per step of a T5-family seq2seq transformer (lib/models/seq2seq): the blocks, plus the output
 * layer 2·d·V at every target position (only there: the single stack's source positions predict nothing).
 *   encoder-decoder   encoder over S tokens + decoder over T tokens with cross-attention to S
 *   decoder-only /    one stack over S + 1 + T tokens ([source ; SEP ; BOS target]); the prefix LM's extra
 *   prefix-lm         visibility costs nothing: the scores are computed either way
 * Training ≈ 3 × forward.
 */
export function seq2seqTrainingFlops(s: Seq2SeqFlopsSpec): { forward: number; training: number; perExample: number } {
  checkArchitecture(s.architecture);
  for (const k of ["width", "vocabSize", "sourceLength", "targetLength", "batchSize", "decoderLayers"] as const) {
    if (!(s[k] > 0)) throw new Error(`seq2seqTrainingFlops: ${k} (${s[k]}) must be positive.`);
  }
  const { width, mlpRatio } = s;
  const S = s.sourceLength;
  const T = s.targetLength;
  const blocks = s.architecture === "encoder-decoder"
    ? blockFlops({ width, mlpRatio, layers: s.encoderLayers, queries: S, keys: S }) +
      blockFlops({ width, mlpRatio, layers: s.decoderLayers, queries: T, keys: T, contextLength: S })
    : blockFlops({ width, mlpRatio, layers: s.decoderLayers, queries: S + 1 + T, keys: S + 1 + T });
  const perExample = blocks + T * 2 * width * s.vocabSize;
  const forward = s.batchSize * perExample;
  return { forward, training: 3 * forward, perExample };
}
