// Views of lib/analysis results for notebook 08: each takes what an analysis returned and draws one figure.
import type { LayerProbeRow } from "../analysis/probe_tasks";
import type { LayerComparison, SelfSimilarityResult } from "../analysis/similarity";
import type { HeadStatistics } from "../analysis/heads";
import { Representations, attentionOf } from "../analysis/extract";
import { Features } from "../analysis/features";
import { neighbourAgreement, pcaProjection, umapProjection } from "../analysis/projection";
import type { Vocab } from "../data/vocab";
import { Figure, heatmap, lineChart, scatter } from "./plot";

export type ProbeValue = "accuracy" | "controlAccuracy" | "selectivity";

/**
 * Layer-wise probing as a heatmap: one row per (model, task), one column per layer, the value written in each
 * cell. Rows with fewer layers leave the rest blank.
 */
export function probeHeatmap(rows: readonly LayerProbeRow[], opts: { value?: ProbeValue; title?: string; show?: boolean } = {}): Figure {
  if (rows.length === 0) throw new Error("probeHeatmap got no rows: pass what probeLayers returned.");
  const value = opts.value ?? "selectivity";
  const keys = [...new Set(rows.map((r) => `${r.model} · ${r.task}`))];
  const layers = Math.max(...rows.map((r) => r.layer)) + 1;
  const names = Array.from({ length: layers }, (_, l) => rows.find((r) => r.layer === l)?.layerName ?? `layer ${l}`);
  const z = keys.map((k) => names.map((_, l) => {
    const r = rows.find((x) => `${x.model} · ${x.task}` === k && x.layer === l);
    const v = r?.[value];
    return typeof v === "number" ? v : Number.NaN;
  }));
  const what = { accuracy: "probe accuracy", controlAccuracy: "control-task accuracy", selectivity: "selectivity (accuracy − control)" }[value];
  return heatmap({
    z, x: names, y: keys, title: opts.title ?? `Layer-wise probing: ${what}`, xLabel: "layer", showValues: true,
    colorscale: value === "selectivity" ? "RdBu" : undefined, zmin: value === "selectivity" ? -0.5 : 0, zmax: value === "selectivity" ? 0.5 : 1,
    height: Math.max(320, 120 + 34 * keys.length), show: opts.show,
  });
}

/** A layer-by-layer CKA matrix (compareLayers) as a heatmap, 0 to 1. */
export function ckaHeatmap(c: LayerComparison, opts: { title?: string; show?: boolean } = {}): Figure {
  return heatmap({
    z: c.cka, x: c.colNames, y: c.rowNames, title: opts.title ?? `Linear CKA: ${c.rowModel} (rows) vs ${c.colModel} (columns)`,
    xLabel: c.colModel, yLabel: c.rowModel, showValues: true, zmin: 0, zmax: 1, show: opts.show,
  });
}

/** 2-D points coloured by label, with the sentence (or token) on hover. points: [n][2]. */
export function projectionScatter(o: {
  points: readonly (readonly number[])[];
  labels: readonly (string | number)[];
  texts?: readonly string[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  show?: boolean;
}): Figure {
  if (o.points.length !== o.labels.length) throw new Error(`projectionScatter got ${o.points.length} points and ${o.labels.length} labels: give one label per point.`);
  if (o.texts && o.texts.length !== o.points.length) throw new Error(`projectionScatter got ${o.texts.length} texts for ${o.points.length} points.`);
  return scatter({
    points: o.points.map((p, i) => ({ x: p[0], y: p[1] ?? 0, label: o.labels[i], text: o.texts?.[i] })),
    title: o.title, xLabel: o.xLabel ?? "component 1", yLabel: o.yLabel ?? "component 2", markerSize: 6, show: o.show,
  });
}

/**
 * Vectors (one per sentence) in 2-D by PCA or UMAP, coloured by label with the text on hover; the title gives the
 * method, PCA's explained variance and the nearest-neighbour label agreement in the plot (also returned).
 */
export async function sentenceMap(o: {
  features: Features;
  method: "pca" | "umap";
  labels: readonly (string | number)[];
  texts?: readonly string[];
  title: string;
  seed?: number;
  /** UMAP only: optimisation epochs (default: umap-js's choice). */
  nEpochs?: number;
  show?: boolean;
}): Promise<{ figure: Figure; agreement: number; explainedVariance?: number[] }> {
  if (o.method !== "pca" && o.method !== "umap") throw new Error(`method "${o.method}" is unknown: use "pca" or "umap".`);
  const p = o.method === "pca" ? pcaProjection({ features: o.features }) : await umapProjection({ features: o.features, seed: o.seed, nEpochs: o.nEpochs });
  const agreement = neighbourAgreement(p.points, o.labels);
  const variance = p.explainedVariance ? ` (axes hold ${p.explainedVariance.map((v) => `${(100 * v).toFixed(0)}%`).join(" + ")} of the variance)` : "";
  const figure = projectionScatter({
    points: p.points, labels: o.labels, texts: o.texts, show: o.show,
    title: `${o.title}: ${o.method.toUpperCase()}${variance}; neighbour agreement ${agreement.toFixed(2)}`,
  });
  return { figure, agreement, explainedVariance: p.explainedVariance };
}

/** Self-similarity and the anisotropy baseline per layer, one pair of lines per model (Ethayarajh 2019, Fig. 1). */
export function selfSimilarityChart(results: Record<string, SelfSimilarityResult>, opts: { title?: string; show?: boolean } = {}): Figure {
  if (Object.keys(results).length === 0) throw new Error("selfSimilarityChart got no results: pass { model: selfSimilarity(...), ... }.");
  const series = Object.entries(results).flatMap(([model, result]) => [
    { name: `${model}: self-similarity`, x: result.layers.map((l) => l.layer), y: result.layers.map((l) => l.selfSimilarity) },
    { name: `${model}: random pairs (anisotropy)`, x: result.layers.map((l) => l.layer), y: result.layers.map((l) => l.anisotropy) },
  ]);
  return lineChart({
    series, title: opts.title ?? "How contextual? Cosine of a word with itself in other sentences",
    xLabel: "layer (0 = embeddings)", yLabel: "mean cosine", show: opts.show,
  });
}

/** Columns of the head-type heatmap: attention shares, and entropy as a share of a uniform head's. */
const HEAD_COLUMNS: [string, (s: HeadStatistics, l: number, h: number) => number][] = [
  ["entropy ÷ uniform", (s, l, h) => s.stats.entropy[l][h] / s.uniformEntropy],
  ["→ [CLS]", (s, l, h) => s.stats.toCls[l][h]],
  ["→ [SEP]", (s, l, h) => s.stats.toSep[l][h]],
  ["→ punctuation", (s, l, h) => s.stats.toPunctuation[l][h]],
  ["→ previous", (s, l, h) => s.stats.toPrevious[l][h]],
  ["→ self", (s, l, h) => s.stats.toSelf[l][h]],
  ["→ next", (s, l, h) => s.stats.toNext[l][h]],
];

/** One row per head, one column per behaviour (Clark et al. 2019): which heads are positional, which park on [CLS]. */
export function headTypeHeatmap(s: HeadStatistics, opts: { title?: string; show?: boolean } = {}): Figure {
  const rows: string[] = [];
  const z: number[][] = [];
  for (let l = 0; l < s.layers; l++) {
    for (let h = 0; h < s.heads; h++) {
      rows.push(`layer ${l + 1} · head ${h}`);
      z.push(HEAD_COLUMNS.map(([, f]) => f(s, l, h)));
    }
  }
  return heatmap({
    z, x: HEAD_COLUMNS.map(([name]) => name), y: rows, title: opts.title ?? `${s.model}: what each head attends to`,
    showValues: true, zmin: 0, zmax: 1, height: Math.max(320, 140 + 26 * rows.length), show: opts.show,
  });
}

/** One head's attention map on one sentence, tokens on both axes (rows = queries, columns = keys). */
export function attentionHeatmap(o: {
  representations: Representations;
  layer: number;
  head: number;
  sentence: number;
  vocab: Vocab;
  title?: string;
  show?: boolean;
}): Figure {
  const r = o.representations;
  const maps = attentionOf(r, { layer: o.layer, sentence: o.sentence }); // checks layer and sentence
  if (!(Number.isInteger(o.head) && o.head >= 0 && o.head < maps.length)) throw new Error(`head ${o.head} is out of range: use 0..${maps.length - 1}.`);
  const z = maps[o.head];
  const tokens = o.vocab.decode(r.sequences[o.sentence]);
  return heatmap({
    z, x: tokens, y: tokens, title: o.title ?? `${r.model}, layer ${o.layer}, head ${o.head}`,
    xLabel: "attended to (key)", yLabel: "query", zmin: 0, zmax: 1, show: o.show,
  });
}
