// Views for seq2seq models: an attention alignment as a heatmap (generated tokens × source tokens, as Luong et al.
// 2015 and Bahdanau et al. 2015 draw them), and a moving average for noisy per-step training curves.
import { Figure, heatmap } from "./plot";

export interface AlignmentView {
  /** Source tokens (columns). */
  source: string[];
  /** Generated tokens (rows). */
  output: string[];
  /** [output][source] attention weights. */
  weights: number[][];
}

/** Heatmap of attention weights: one row per generated token, one column per source token, 0 white to 1 dark. */
export function alignmentHeatmap(a: AlignmentView, title = "Attention alignment"): Figure {
  if (a.weights.length !== a.output.length) throw new Error(`alignment has ${a.weights.length} rows of weights for ${a.output.length} generated tokens.`);
  return heatmap({ z: a.weights, x: a.source, y: a.output, title, xLabel: "source", yLabel: "generated", zmin: 0, zmax: 1 });
}

/** Trailing moving average over `window` points (default: 1/25 of the curve), for per-step losses. */
export function movingAverage(ys: readonly number[], window = Math.max(1, Math.round(ys.length / 25))): number[] {
  if (!Number.isInteger(window) || window < 1) throw new Error(`window (${window}) must be a positive integer.`);
  const out: number[] = [];
  let sum = 0;
  ys.forEach((y, i) => {
    sum += y;
    if (i >= window) sum -= ys[i - window];
    out.push(sum / Math.min(i + 1, window));
  });
  return out;
}
