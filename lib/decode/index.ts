// Decoding for every seq2seq model of the course: greedy, beam search and sampling over a StepDecoder
// (step.ts). `decodeAll` runs any of them over a data set of any size: sources sorted by length into batches
// (less padding), the results put back in the original order, Jupyter's stop button honoured between steps.
//
//   const outs = await decodeAll(model, test.map((e) => e.source), { strategy: { kind: "beam", beamSize: 4 } });
//   outs[i][0].tokens   // the best hypothesis for source i
import { throwIfInterrupted } from "../interrupt";
import { progress as makeProgress } from "../viz/progress";
import { StepDecoder } from "./step";
import { Hypothesis, greedyDecode } from "./greedy";
import { BeamSearchOptions, beamSearch, checkBeamOptions } from "./beam_search";
import { SamplingOptions, checkSamplingOptions, sampleDecode } from "./sampling";

export type { Hypothesis } from "./greedy";
export type { DecoderState, StepDecoder, StepOutput, TensorRecord } from "./step";
export { greedyDecode } from "./greedy";
export { beamSearch, lengthPenalty } from "./beam_search";
export { sampleDecode } from "./sampling";

export type DecodeStrategy =
  | { kind: "greedy" }
  | ({ kind: "beam" } & Omit<BeamSearchOptions, "maxLength">)
  | ({ kind: "sample" } & Omit<SamplingOptions, "maxLength" | "returnAttention" | "streams">);

export const STRATEGY_KINDS = ["greedy", "beam", "sample"] as const;

export interface DecodeAllOptions {
  /** How to search (default greedy). */
  strategy?: DecodeStrategy;
  /** Sources decoded together (default 64; beam search runs batchSize × beamSize rows). */
  batchSize?: number;
  /** Most tokens to generate, EOS included (default: the model's maxTargetLen + 1). */
  maxLength?: number;
  /** Keep attention weights per step (greedy only). */
  returnAttention?: boolean;
  /** Show a progress line (default false). */
  progress?: boolean;
}

function checkStrategy(s: DecodeStrategy): void {
  if (!s || !STRATEGY_KINDS.includes(s.kind)) {
    throw new Error(`decoding strategy "${(s as { kind?: string })?.kind}" is unknown: use one of ${STRATEGY_KINDS.join(", ")}.`);
  }
  if (s.kind === "beam") checkBeamOptions(s);
  if (s.kind === "sample") checkSamplingOptions(s);
}

/**
 * Decode every source with one strategy → for each source a list of hypotheses, best first (one for greedy
 * and sampling, nBest for beam search). Async: between batches it yields to the event loop so a notebook can
 * show progress and deliver an interrupt; the steps inside a batch check the interrupt flag too.
 */
export async function decodeAll(model: StepDecoder, sources: number[][], opts: DecodeAllOptions = {}): Promise<Hypothesis[][]> {
  const strategy = opts.strategy ?? { kind: "greedy" };
  checkStrategy(strategy);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize (${batchSize}) must be a positive integer.`);
  if (opts.returnAttention && strategy.kind !== "greedy") throw new Error("returnAttention works with greedy decoding only: use strategy { kind: \"greedy\" }.");
  if (!Array.isArray(sources) || sources.length === 0) throw new Error("decodeAll needs at least one source.");
  // Similar lengths together: less padding, and the order is restored below. Stable for equal lengths.
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length || a - b);
  const results: Hypothesis[][] = new Array(sources.length);
  const bar = opts.progress ? makeProgress({ total: sources.length, label: `decode (${strategy.kind})`, unit: "sources" }) : null;
  for (let s = 0; s < order.length; s += batchSize) {
    throwIfInterrupted("decoding");
    const idx = order.slice(s, s + batchSize);
    const batch = idx.map((i) => sources[i]);
    let outs: Hypothesis[][];
    if (strategy.kind === "greedy") {
      outs = greedyDecode(model, batch, { maxLength: opts.maxLength, returnAttention: opts.returnAttention }).map((h) => [h]);
    } else if (strategy.kind === "beam") {
      outs = beamSearch(model, batch, { ...strategy, maxLength: opts.maxLength });
    } else {
      outs = sampleDecode(model, batch, { ...strategy, maxLength: opts.maxLength, streams: idx }).map((h) => [h]);
    }
    idx.forEach((i, j) => (results[i] = outs[j]));
    bar?.update(Math.min(order.length, s + batchSize));
    await new Promise((r) => setImmediate(r));
  }
  bar?.done();
  return results;
}
