// The key/value cache, measured: greedy decoding with the cache and without it (every step re-running the whole
// decoder input so far) must give the same tokens and scores, the cached one in O(length) work per step instead
// of O(length²). Notebook 06 shows the table; a difference is a bug, so it throws instead of printing a row.
import { Hypothesis, StepDecoder, decodeAll } from "./index";

/** A model that decodes with its cache and can also decode without it (TransformerSeq2Seq has both). */
export interface CachedDecoder extends StepDecoder {
  recomputingDecoder(): StepDecoder;
}

export interface CacheComparisonOptions {
  /** The models to time, each with the label its row shows. */
  models: { label: string; model: CachedDecoder }[];
  /** Source id sequences, the same for every model. */
  sources: number[][];
  /** Most tokens to generate, EOS included (default 80). */
  maxLength?: number;
  /** Largest |log p| difference between the two decodings still called the same (default 1e-3). */
  tolerance?: number;
}

/** One table row (a type, not an interface, so showTable accepts it as a plain record). */
export type CacheComparisonRow = {
  model: string;
  "generated tokens": number;
  "ms, with cache": number;
  "ms, recomputing": number;
  "speed-up": number;
  /** Always "yes": a difference throws instead (shown so the reader sees what was checked). */
  "same tokens and scores": "yes";
};

async function timedDecode(model: StepDecoder, sources: number[][], maxLength: number): Promise<{ out: Hypothesis[][]; ms: number }> {
  const t0 = Date.now();
  const out = await decodeAll(model, sources, { maxLength });
  return { out, ms: Math.max(1, Date.now() - t0) };
}

/**
 * Greedy-decode `sources` with each model twice, with and without its key/value cache → one row per model:
 * tokens generated (EOS counted), milliseconds of each and the speed-up. Throws when the two decodings differ
 * in any token or by more than `tolerance` in a log-probability (naming the model and the source), and on empty
 * `models` or `sources`.
 */
export async function kvCacheComparison(o: CacheComparisonOptions): Promise<CacheComparisonRow[]> {
  const maxLength = o.maxLength ?? 80;
  const tolerance = o.tolerance ?? 1e-3;
  if (!Array.isArray(o.models) || o.models.length === 0) throw new Error("kvCacheComparison needs models: [{ label, model }], at least one.");
  if (!Array.isArray(o.sources) || o.sources.length === 0) throw new Error("kvCacheComparison needs sources: at least one source id sequence.");
  if (!(Number.isInteger(maxLength) && maxLength > 0)) throw new Error(`kvCacheComparison maxLength (${maxLength}) must be a positive integer, e.g. 80.`);
  if (!(tolerance >= 0)) throw new Error(`kvCacheComparison tolerance (${tolerance}) must be >= 0, e.g. 1e-3.`);
  const rows: CacheComparisonRow[] = [];
  for (const { label, model } of o.models) {
    if (typeof model?.recomputingDecoder !== "function") throw new Error(`kvCacheComparison: model "${label}" has no recomputingDecoder(); pass a TransformerSeq2Seq.`);
    const cached = await timedDecode(model, o.sources, maxLength);
    const slow = await timedDecode(model.recomputingDecoder(), o.sources, maxLength);
    cached.out.forEach((h, i) => {
      const [a, b] = [h[0], slow.out[i][0]];
      if (a.tokens.join() !== b.tokens.join() || Math.abs(a.logProb - b.logProb) > tolerance) {
        throw new Error(`${label}: decoding with the cache differs from recomputing on source ${i} ([${a.tokens}] log p ${a.logProb.toFixed(4)} vs [${b.tokens}] ${b.logProb.toFixed(4)}): the cache is wrong.`);
      }
    });
    const tokens = cached.out.reduce((s, h) => s + h[0].tokens.length + 1, 0);
    rows.push({ model: label, "generated tokens": tokens, "ms, with cache": cached.ms, "ms, recomputing": slow.ms, "speed-up": slow.ms / cached.ms, "same tokens and scores": "yes" });
  }
  return rows;
}
