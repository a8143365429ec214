// Beam search: keep the k most probable partial outputs ("beams") instead of one, extend each by every token,
// and keep the best k of the k·V candidates. It approximates argmax_y log p(y | x) much better than greedy
// decoding, at about k times the cost.
//
// Details follow fairseq's batched search, which most systems share:
//   - Candidates are the top 2k extensions of all beams of a source. An extension by EOS that ranks among the
//     top k ends a hypothesis (it took a beam slot); the best k extensions that are not EOS continue. So there
//     are always k live beams, and with k = 1 this is exactly greedy decoding.
//   - A source is done once k hypotheses have ended (or at maxLength, where live beams end unfinished).
//   - Ended hypotheses are ranked by the length-normalised score of Wu et al. (2016, eq. 14):
//       score(Y) = log p(Y | X) / lp(Y),   lp(Y) = ((5 + |Y|) / (5 + 1))^α
//     |Y| counts generated tokens including EOS. α = 0 ranks by log-probability; log-probabilities only fall as
//     outputs grow, so α > 0 counters the search's preference for short outputs (GNMT used α ≈ 0.6–0.7).
//     Wu et al.'s coverage penalty is not used (β = 0).
// Batched over sources and beams: rows = active sources × k, one decodeStep per step for all of them; a
// continuing beam inherits its parent's carried state (a gather of rows), the source memory is only gathered
// when finished sources leave the batch.
import * as tf from "@tensorflow/tfjs";
import { BOS_ID, EOS_ID } from "../data/vocab";
import { DecoderState, StepDecoder, advance, disposeState, gatherRows, selectState } from "./step";
import { Hypothesis, checkSources, resolveMaxLength } from "./greedy";

export interface BeamSearchOptions {
  /** Beams per source, k ≥ 1 (default 4). */
  beamSize?: number;
  /** α of Wu et al.'s length penalty (default 0: rank by log-probability). */
  lengthPenalty?: number;
  /** Hypotheses returned per source, best first, 1 ≤ nBest ≤ beamSize (default beamSize). */
  nBest?: number;
  /** Most tokens to generate, EOS included (default: the model's maxTargetLen + 1). */
  maxLength?: number;
}

/** Wu et al. (2016) length penalty lp(Y) = ((5 + |Y|) / 6)^α. */
export function lengthPenalty(length: number, alpha: number): number {
  return Math.pow((5 + length) / 6, alpha);
}

export function checkBeamOptions(opts: BeamSearchOptions): { k: number; alpha: number; nBest: number } {
  const k = opts.beamSize ?? 4;
  if (!Number.isInteger(k) || k < 1) throw new Error(`beamSize (${k}) must be an integer >= 1 (1 is greedy decoding).`);
  const alpha = opts.lengthPenalty ?? 0;
  if (!(Number.isFinite(alpha) && alpha >= 0)) throw new Error(`lengthPenalty α (${alpha}) must be a number >= 0 (0 = none; Wu et al. used 0.6-0.7).`);
  const nBest = opts.nBest ?? k;
  if (!Number.isInteger(nBest) || nBest < 1 || nBest > k) throw new Error(`nBest (${nBest}) must be an integer in [1, beamSize = ${k}].`);
  return { k, alpha, nBest };
}

interface Beam {
  tokens: number[];
  logProb: number;
}

/**
 * Beam search over a batch of sources (ids without BOS/EOS) → for each source its best `nBest` hypotheses,
 * best first (by score). Errors: beamSize < 1, nBest outside [1, beamSize], lengthPenalty < 0, an empty source.
 */
export function beamSearch(model: StepDecoder, sources: number[][], opts: BeamSearchOptions = {}): Hypothesis[][] {
  checkSources(sources);
  const { k, alpha, nBest } = checkBeamOptions(opts);
  const maxLength = resolveMaxLength(model, opts.maxLength);
  const V = model.targetVocabSize;
  const ended: Hypothesis[][] = sources.map(() => []);
  const end = (src: number, b: Beam, finished: boolean): void => {
    const length = b.tokens.length + (finished ? 1 : 0);
    ended[src].push({ tokens: b.tokens, logProb: b.logProb, score: b.logProb / lengthPenalty(length, alpha), finished });
  };
  // Every source starts with k copies of its state; only beam 0 is alive at first (the others score -1e9),
  // so the first step does not fill the beam with k copies of the same extension.
  let state: DecoderState = selectState(model.beginDecoding(sources), sources.flatMap((_, i) => new Array<number>(k).fill(i)));
  let active = sources.map((_, i) => i);
  let beams: Beam[][] = sources.map(() => Array.from({ length: k }, (_, j) => ({ tokens: [], logProb: j === 0 ? 0 : -1e9 })));
  let prev = new Array<number>(sources.length * k).fill(BOS_ID);
  try {
    for (let step = 0; step < maxLength && active.length > 0; step++) {
      const next = advance(model, prev, state, "beam search");
      const out = next.output;
      state = next.state;
      out.attention?.dispose();
      const beamScores = tf.tensor2d(beams.flatMap((bs) => bs.map((b) => b.logProb)), [active.length * k, 1]);
      // Candidate scores: each beam's log-probability plus each next token's; the top 2k per source.
      const { values, indices } = tf.tidy(() => {
        const cand = tf.add(tf.logSoftmax(out.logits), beamScores).reshape([active.length, k * V]);
        const top = tf.topk(cand, Math.min(2 * k, k * V));
        return { values: top.values.arraySync() as number[][], indices: top.indices.arraySync() as number[][] };
      });
      beamScores.dispose();
      out.logits.dispose();

      const last = step === maxLength - 1;
      const nextBeams: Beam[][] = [];
      const parentRows: number[] = [];
      const memoryRows: number[] = [];
      const nextActive: number[] = [];
      const nextPrev: number[] = [];
      active.forEach((src, a) => {
        const live: Beam[] = [];
        const parents: number[] = [];
        values[a].forEach((score, rank) => {
          const beam = Math.floor(indices[a][rank] / V);
          const tok = indices[a][rank] % V;
          const parent = beams[a][beam];
          if (tok === EOS_ID) {
            if (rank < k && score > -1e8) end(src, { tokens: parent.tokens, logProb: score }, true);
          } else if (live.length < k) {
            live.push({ tokens: [...parent.tokens, tok], logProb: score });
            parents.push(a * k + beam);
          }
        });
        if (last) live.forEach((b) => b.logProb > -1e8 && end(src, b, false));
        if (last || ended[src].length >= k) return; // this source is done
        nextBeams.push(live);
        parentRows.push(...parents);
        for (let j = 0; j < k; j++) memoryRows.push(a * k + j);
        nextActive.push(src);
        nextPrev.push(...live.map((b) => b.tokens[b.tokens.length - 1]));
      });
      if (nextActive.length === 0) break;
      // Continuing beams inherit their parents' carry; memory changes only when sources have left the batch.
      const parentIdx = tf.tensor1d(parentRows, "int32");
      const carry = gatherRows(state.carry, parentIdx);
      parentIdx.dispose();
      let memory = state.memory;
      if (nextActive.length < active.length) {
        const memIdx = tf.tensor1d(memoryRows, "int32");
        memory = gatherRows(state.memory, memIdx);
        memIdx.dispose();
        for (const t of Object.values(state.memory)) t.dispose();
      }
      for (const t of Object.values(state.carry)) t.dispose();
      state = { carry, memory };
      active = nextActive;
      beams = nextBeams;
      prev = nextPrev;
    }
  } finally {
    disposeState(state);
  }
  return ended.map((hs) => hs.sort((x, y) => y.score - x.score).slice(0, nBest));
}
