// The three transformer architectures of the T5 paper (Raffel et al. 2020, §3.2.1 and Figure 4), told apart by
// which positions may attend to which:
//
//   "encoder-decoder"  an encoder with FULL attention over the input (every input token sees every other),
//                      and a decoder that is CAUSAL over the output (token i sees outputs ≤ i) and looks back at
//                      the whole encoding through cross-attention. Two stacks.
//   "decoder-only"     ONE causal stack over input and output concatenated, [source ; SEP ; BOS target]: a
//                      language model that reads the input left to right as if it were text to continue.
//   "prefix-lm"        the same single stack, but FULL attention over the prefix (the input and SEP) and causal
//                      after it: the encoder's view of the input, inside a decoder-only model.
//
// The patterns below come from the library's own masks (lib/nn/attention.ts: causalMask, prefixLmMask), the
// ones the model applies (lib/models/seq2seq/transformer_seq2seq.ts).
import * as tf from "@tensorflow/tfjs";
import { causalMask, prefixLmMask } from "../../nn/attention";

export type Seq2SeqArchitecture = "encoder-decoder" | "decoder-only" | "prefix-lm";
export const SEQ2SEQ_ARCHITECTURES: readonly Seq2SeqArchitecture[] = ["encoder-decoder", "decoder-only", "prefix-lm"];

export function checkArchitecture(a: Seq2SeqArchitecture): void {
  if (!SEQ2SEQ_ARCHITECTURES.includes(a)) throw new Error(`architecture "${a}" is unknown: use one of ${SEQ2SEQ_ARCHITECTURES.join(", ")}.`);
}

/** Does the architecture read source and target in ONE stack ([source ; SEP ; BOS target])? */
export const isSingleStack = (a: Seq2SeqArchitecture): boolean => a !== "encoder-decoder";

/** One attention pattern: allowed[query][key] = 1 when the query may attend to the key, with axis labels. */
export interface AttentionPattern {
  name: string;
  queries: string[];
  keys: string[];
  allowed: number[][];
}

/** An additive mask [1, 1, tq, tk] (0 = allowed, large negative = hidden) -> 0/1 rows. */
function allowedOf(mask: tf.Tensor4D): number[][] {
  const rows = (mask.arraySync() as number[][][][])[0][0];
  mask.dispose();
  return rows.map((r) => r.map((v) => (v === 0 ? 1 : 0)));
}

/**
 * The attention patterns of an architecture for a source of `sourceLength` tokens and a target of `targetLength`
 * (the decoder reads BOS y1 .. y_{targetLength-1}). Encoder-decoder: encoder self-attention, decoder
 * self-attention and cross-attention; single stack: one pattern over [x1..xS, SEP, BOS, y1..].
 */
export function attentionPatterns(architecture: Seq2SeqArchitecture, sourceLength: number, targetLength: number): AttentionPattern[] {
  checkArchitecture(architecture);
  for (const [k, v] of [["sourceLength", sourceLength], ["targetLength", targetLength]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attentionPatterns: ${k} (${v}) must be a positive integer.`);
  }
  const src = Array.from({ length: sourceLength }, (_, i) => `x${i + 1}`);
  const tgt = ["BOS", ...Array.from({ length: targetLength - 1 }, (_, i) => `y${i + 1}`)];
  if (architecture === "encoder-decoder") {
    return [
      { name: "encoder self-attention (full)", queries: src, keys: src, allowed: src.map(() => src.map(() => 1)) },
      { name: "decoder self-attention (causal)", queries: tgt, keys: tgt, allowed: allowedOf(causalMask(tgt.length)) },
      { name: "cross-attention (decoder → encoder)", queries: tgt, keys: src, allowed: tgt.map(() => src.map(() => 1)) },
    ];
  }
  const seq = [...src, "SEP", ...tgt];
  const mask = architecture === "prefix-lm" ? prefixLmMask(seq.length, sourceLength + 1) : causalMask(seq.length);
  const name = architecture === "prefix-lm" ? "prefix LM: full over the input, causal after" : "decoder-only: causal over input and output";
  return [{ name, queries: seq, keys: seq, allowed: allowedOf(mask) }];
}
