// Sampling: draw each next token from the model's distribution instead of taking its argmax — for diverse
// outputs (dialogue, data augmentation, BART-style noising) rather than the single most probable one.
//   temperature T:  p_T(y) ∝ exp(logit_y / T)   (T < 1 sharpens towards greedy, T > 1 flattens towards uniform)
//   top-k:          sample only among the k most probable tokens (Fan et al. 2018), renormalised
// Each source draws from its own seeded random stream (by its index), so a sample does not depend on which
// other sources share its batch. The reported logProb is under the model's own distribution (T = 1, no top-k),
// so samples and beam outputs are scored on one scale.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { Hypothesis, StepLoopOptions, TokenPicker, decodeOnePerRow } from "./greedy";
import { StepDecoder } from "./step";

export interface SamplingOptions extends StepLoopOptions {
  /** T > 0 (default 1). */
  temperature?: number;
  /** Sample among the k most probable tokens (default 0 = all tokens). */
  topK?: number;
  /** Seed of the random streams (default 0). */
  seed?: number;
  /**
   * The random stream of each source (default: its position in `sources`). decodeAll passes each source's
   * position in the whole data set, so a sample does not depend on the batch size either.
   */
  streams?: number[];
}

export function checkSamplingOptions(opts: SamplingOptions): { temperature: number; topK: number } {
  const temperature = opts.temperature ?? 1;
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new Error(`temperature (${temperature}) must be a number > 0 (1 = the model's distribution).`);
  const topK = opts.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`topK (${topK}) must be an integer >= 0 (0 = sample from every token).`);
  return { temperature, topK };
}

/** Draw one index from unnormalised weights with one uniform number u ∈ [0, 1). */
function drawIndex(weights: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  let x = u * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i];
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/**
 * Sample one output per source (ids without BOS/EOS). Errors: temperature ≤ 0, topK < 0, an empty source.
 */
export function sampleDecode(model: StepDecoder, sources: number[][], opts: SamplingOptions = {}): Hypothesis[] {
  const { temperature, topK } = checkSamplingOptions(opts);
  const streams = opts.streams ?? sources.map((_, i) => i);
  if (streams.length !== sources.length) throw new Error(`streams (${streams.length}) must give one stream id per source (${sources.length}).`);
  const seed = opts.seed ?? 0;
  // One generator per source, derived from (seed, stream id) alone.
  const rngs = streams.map((s) => new Rng((seed * 1_000_003 + s * 7919 + 17) % 2_147_483_647));
  const pick: TokenPicker = (logp, rows) => {
    const [n, v] = logp.shape;
    const k = topK > 0 ? Math.min(topK, v) : v;
    const scaled = tf.div(logp, temperature);
    let ids: Int32Array | null = null;
    let weightsT: tf.Tensor2D;
    if (k < v) {
      const top = tf.topk(scaled, k);
      ids = top.indices.dataSync() as Int32Array;
      weightsT = tf.softmax(top.values) as tf.Tensor2D;
    } else {
      weightsT = tf.softmax(scaled) as tf.Tensor2D;
    }
    const w = weightsT.dataSync();
    const lp = logp.dataSync();
    const tokens: number[] = [];
    const logProbs: number[] = [];
    for (let r = 0; r < n; r++) {
      const j = drawIndex(w.subarray(r * k, (r + 1) * k), rngs[rows[r]].next());
      const tok = ids ? ids[r * k + j] : j;
      tokens.push(tok);
      logProbs.push(lp[r * v + tok]);
    }
    return { tokens, logProbs };
  };
  return decodeOnePerRow(model, sources, pick, opts);
}
