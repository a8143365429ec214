// Views for notebook 03 (self-attention): path lengths between tokens (section 1), attention weights as a
// query × key map (sections 2, 3 and 7), and attention masks as "who may look at whom" (section 7).
import * as tf from "@tensorflow/tfjs";
import { Figure, heatmap, lineChart } from "./plot";
import { Table, showTable } from "./table";
import { summarised } from "./display";
import type { PathLengthRow } from "../tasks/self_attention";

/** The table and log-scale chart of pathLengths' rows (Vaswani et al. 2017, Table 1's maximum path length). */
export function pathLengthView(rows: PathLengthRow[], opts: { kernel?: number } = {}): { table: Table; chart: Figure } {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("pathLengthView got no rows: pass what pathLengths returned.");
  const k = opts.kernel ?? 3;
  const table = showTable(
    rows.map((r) => ({
      "tokens apart": r.distance,
      "RNN: sequential steps": r.rnn,
      [`CNN k=${k}: layers`]: r.cnn,
      "dilated CNN: layers": r.dilatedCnn,
      "self-attention: layers": r.attention,
    })),
    { title: "Operations between two tokens k positions apart" },
  );
  const x = rows.map((r) => r.distance);
  const chart = lineChart({
    title: "How far apart can two tokens be, and still meet?",
    xLabel: "tokens apart",
    yLabel: "steps / layers",
    logY: true,
    series: [
      { name: "RNN (sequential steps)", x, y: rows.map((r) => r.rnn) },
      { name: `CNN, kernel ${k} (layers)`, x, y: rows.map((r) => r.cnn) },
      { name: "CNN, dilation doubling (layers)", x, y: rows.map((r) => r.dilatedCnn) },
      { name: "self-attention (layers)", x, y: rows.map((r) => r.attention) },
    ],
  });
  return summarised({ table, chart }, `[path lengths] ${rows.length} distances, up to ${x[x.length - 1]} tokens apart`, true);
}

export interface AttentionMapOptions {
  /** [queries, keys] weights, each row summing to 1. */
  weights: number[][];
  /** Query labels (rows). */
  queries: string[];
  /** Key labels (columns; default the queries: self-attention). */
  keys?: string[];
  title: string;
  /** "probability": colours from 0 to 1 (default); "auto": from 0 to the largest weight, for diffuse trained maps. */
  scale?: "probability" | "auto";
  showValues?: boolean;
  xLabel?: string;
  yLabel?: string;
}

/** One attention map: rows = queries (looking), columns = keys (looked at), as Vaswani et al. 2017 Fig. 3–5 draw them. */
export function attentionMap(o: AttentionMapOptions): Figure {
  const keys = o.keys ?? o.queries;
  if (!Array.isArray(o.weights) || o.weights.length !== o.queries?.length) {
    throw new Error(`attentionMap got ${o.weights?.length} rows of weights for ${o.queries?.length} queries: pass one query label per row.`);
  }
  if (o.weights.some((row) => row.length !== keys.length)) throw new Error(`attentionMap rows must have one weight per key (${keys.length}): pass keys for a cross-attention map.`);
  const scale = o.scale ?? "probability";
  if (scale !== "probability" && scale !== "auto") throw new Error(`attentionMap scale "${scale}" is unknown: use "probability" or "auto".`);
  return heatmap({
    title: o.title,
    z: o.weights,
    x: keys,
    y: o.queries,
    xLabel: o.xLabel ?? "key (looked at)",
    yLabel: o.yLabel ?? "query (looking)",
    showValues: o.showValues,
    zmin: 0,
    zmax: scale === "probability" ? 1 : undefined,
  });
}

/**
 * An additive mask (0 = may attend, −1e9 = masked; lib/nn/attention.ts), broadcast to [batch, heads, queries,
 * keys], as one example's [queries, keys] matrix of 1 = may attend, 0 = masked (first head).
 */
export function allowedPositions(o: { mask: tf.Tensor; batch: number; queries: number; keys?: number; example?: number }): number[][] {
  const { mask, batch, queries, keys = queries, example = 0 } = o;
  if (!(mask instanceof tf.Tensor) || mask.rank !== 4) throw new Error(`allowedPositions mask must be a 4-d additive mask [batch, heads, queries, keys], got shape [${(mask as tf.Tensor | undefined)?.shape ?? ""}].`);
  if (!(Number.isInteger(example) && example >= 0 && example < batch)) throw new Error(`allowedPositions example (${example}) is out of range: use 0..${batch - 1}.`);
  return tf.tidy(() => (tf.cast(tf.greater(tf.add(mask, tf.zeros([batch, 1, queries, keys])), -1), "float32").arraySync() as number[][][][])[example][0]);
}

/** A mask as a heatmap of who may look at whom: rows = queries, columns = keys, 1 = allowed. */
export function maskHeatmap(o: { mask: tf.Tensor; title: string; positions: string[]; batch?: number; example?: number }): Figure {
  const t = o.positions.length;
  const z = allowedPositions({ mask: o.mask, batch: o.batch ?? Math.max(1, o.mask.shape[0] ?? 1), queries: t, example: o.example });
  return heatmap({ title: o.title, z, x: o.positions, y: o.positions, xLabel: "key", yLabel: "query", zmin: 0, zmax: 1, showValues: true, height: 330 });
}
