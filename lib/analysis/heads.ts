// What attention heads look at (Clark et al. 2019, "What Does BERT Look At?", §3–4).
//
// For every head of every layer, averaged over every query token of every sentence (padding was cut away at
// extraction, so it never counts):
//   entropy        −Σ_j a_ij·log a_ij (nats): low = the head focuses on a few tokens, log(len) = uniform;
//   toCls, toSep   attention mass on [CLS] / [SEP] (BERT's heads park there when they have nothing to do, §3.2);
//   toPunctuation  mass on punctuation tokens;
//   toPrevious     a_{i,i−1} (queries with a previous token), toNext a_{i,i+1}, toSelf a_ii (positional heads, §3.1);
//   distance       Σ_j a_ij·|i − j|: how far the head reaches, in tokens.
import { Vocab, CLS_ID, SEP_ID } from "../data/vocab";
import { Representations } from "./extract";

export const HEAD_STATS = ["entropy", "toCls", "toSep", "toPunctuation", "toPrevious", "toNext", "toSelf", "distance"] as const;
export type HeadStat = (typeof HEAD_STATS)[number];

export interface HeadStatistics {
  model: string;
  layers: number;
  heads: number;
  /** stats[name][layer − 1][head]: the mean over query tokens. */
  stats: Record<HeadStat, number[][]>;
  /** Mean over query tokens of log(len): the entropy of a head that attends uniformly. */
  uniformEntropy: number;
  /** Query tokens averaged over (per head). */
  queries: number;
}

export interface HeadStatisticsOptions {
  /** Extracted with attention: true. */
  representations: Representations;
  /** Token ids that count as punctuation (see punctuationIds). Default none. */
  punctuation?: Iterable<number>;
  /** Ids of [CLS] and [SEP] (defaults: the course Vocab's). */
  clsId?: number;
  sepId?: number;
}

/** Ids of the vocabulary's punctuation tokens ("." "," "!" "--" ...): every character a Unicode punctuation mark or symbol. */
export function punctuationIds(vocab: Vocab): number[] {
  return vocab.tokens.flatMap((t, i) => (/^[\p{P}\p{S}]+$/u.test(t) && !/^\[.*\]$/.test(t) ? [i] : []));
}

/** The per-head statistics of Clark et al. (2019) over every sentence of `representations`. */
export function headStatistics(opts: HeadStatisticsOptions): HeadStatistics {
  const r = opts.representations;
  if (!r?.attentions) throw new Error("headStatistics needs attention maps: extract the representations with attention: true.");
  const punct = new Set(opts.punctuation ?? []);
  const cls = opts.clsId ?? CLS_ID;
  const sep = opts.sepId ?? SEP_ID;
  const { heads, maps } = r.attentions;
  const layers = maps.length;
  const zeros = () => Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  const sums = Object.fromEntries(HEAD_STATS.map((s) => [s, zeros()])) as Record<HeadStat, number[][]>;
  let queries = 0;
  let withPrev = 0;
  let withNext = 0;
  let uniform = 0;
  r.sequences.forEach((seq, s) => {
    const len = seq.length;
    queries += len;
    withPrev += len - 1;
    withNext += len - 1;
    uniform += len * Math.log(len);
    for (let l = 0; l < layers; l++) {
      const m = maps[l][s];
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < len; i++) {
          const row = (h * len + i) * len;
          let entropy = 0;
          let toCls = 0;
          let toSep = 0;
          let toPunct = 0;
          let distance = 0;
          for (let j = 0; j < len; j++) {
            const a = m[row + j];
            if (a > 0) entropy -= a * Math.log(a);
            if (seq[j] === cls) toCls += a;
            if (seq[j] === sep) toSep += a;
            if (punct.has(seq[j])) toPunct += a;
            distance += a * Math.abs(i - j);
          }
          const acc = (k: HeadStat, v: number) => (sums[k][l][h] += v);
          acc("entropy", entropy);
          acc("toCls", toCls);
          acc("toSep", toSep);
          acc("toPunctuation", toPunct);
          acc("distance", distance);
          acc("toSelf", m[row + i]);
          if (i > 0) acc("toPrevious", m[row + i - 1]);
          if (i < len - 1) acc("toNext", m[row + i + 1]);
        }
      }
    }
  });
  const divide = (k: HeadStat, n: number) => sums[k].map((row) => row.map((v) => (n > 0 ? v / n : Number.NaN)));
  const stats = Object.fromEntries(
    HEAD_STATS.map((k) => [k, divide(k, k === "toPrevious" ? withPrev : k === "toNext" ? withNext : queries)]),
  ) as Record<HeadStat, number[][]>;
  return { model: r.model, layers, heads, stats, uniformEntropy: uniform / queries, queries };
}

/** The head with the largest (or smallest) value of one statistic: { layer (1-based), head (0-based), value }. */
export function extremeHead(s: HeadStatistics, stat: HeadStat, which: "max" | "min" = "max"): { layer: number; head: number; value: number } {
  if (!HEAD_STATS.includes(stat)) throw new Error(`stat "${stat}" is unknown: use one of ${HEAD_STATS.join(", ")}.`);
  let best = { layer: 0, head: 0, value: which === "max" ? -Infinity : Infinity };
  s.stats[stat].forEach((row, l) =>
    row.forEach((v, h) => {
      if (which === "max" ? v > best.value : v < best.value) best = { layer: l + 1, head: h, value: v };
    }));
  return best;
}

/** One row per head (layer, head, every statistic): a table for showTable. */
export function headTable(s: HeadStatistics): Record<string, number>[] {
  const rows: Record<string, number>[] = [];
  for (let l = 0; l < s.layers; l++) {
    for (let h = 0; h < s.heads; h++) rows.push({ layer: l + 1, head: h, ...Object.fromEntries(HEAD_STATS.map((k) => [k, s.stats[k][l][h]])) });
  }
  return rows;
}

/** A model's heads in one row: mean and lowest entropy (÷ uniform), the strongest positional and [CLS] heads, mean reach. */
export function headSummary(s: HeadStatistics): Record<string, string | number> {
  const flat = (k: HeadStat) => s.stats[k].flat();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    model: s.model,
    "mean entropy ÷ uniform": mean(flat("entropy")) / s.uniformEntropy,
    "lowest entropy ÷ uniform": Math.min(...flat("entropy")) / s.uniformEntropy,
    "max → previous": Math.max(...flat("toPrevious")),
    "max → next": Math.max(...flat("toNext")),
    "max → [CLS]": Math.max(...flat("toCls")),
    "mean distance (tokens)": mean(flat("distance")),
  };
}
