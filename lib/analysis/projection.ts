// Hidden states in two dimensions: PCA and UMAP, through kept libraries (ml-pca, umap-js), not by hand.
//
// PCA (Pearson 1901; via the SVD of the centred data) keeps the directions of largest variance: linear, exact,
// and its axes mean something ("% of variance"). UMAP (McInnes et al. 2018) keeps neighbourhoods: clusters show
// better, but distances between clusters and the axes mean nothing, and the picture depends on the seed and on
// nNeighbors. The notebook shows both, coloured by label, so students see what each can and cannot say.
import { PCA } from "ml-pca";
import { UMAP } from "umap-js";
import { Features, toRows } from "./features";
import { Rng } from "../random";
import { interruptRequested, throwIfInterrupted } from "../interrupt";

export interface Projection {
  /** [n][components] */
  points: number[][];
  /** PCA only: the share of the total variance along each kept component. */
  explainedVariance?: number[];
}

function checkInput(what: string, f: Features, minRows: number): void {
  if (!f || !(f.data instanceof Float32Array)) throw new Error(`${what} needs Features (e.g. sentenceVectors(...)).`);
  if (f.rows < minRows) throw new Error(`${what} needs at least ${minRows} rows, got ${f.rows}: pass more sentences or tokens.`);
}

/**
 * Principal components of `features` [n, d] -> points [n, components] and the explained variance of each.
 * Centred, not scaled (hidden units share one scale). Errors: fewer than 2 rows, components out of 1..min(n, d).
 */
export function pcaProjection(opts: { features: Features; components?: number }): Projection {
  const f = opts.features;
  checkInput("pcaProjection", f, 2);
  const k = opts.components ?? 2;
  const most = Math.min(f.rows, f.cols);
  if (!(Number.isInteger(k) && k >= 1 && k <= most)) throw new Error(`components (${k}) must be an integer in 1..${most} (the smaller of rows and width).`);
  const rows = toRows(f);
  const pca = new PCA(rows, { method: "SVD", center: true, scale: false });
  const points = pca.predict(rows, { nComponents: k }).to2DArray();
  return { points, explainedVariance: pca.getExplainedVariance().slice(0, k) };
}

export interface UmapOptions {
  features: Features;
  components?: number;
  /** Size of the neighbourhood UMAP preserves (default 15, at most rows − 1). */
  nNeighbors?: number;
  /** How tightly points may pack (default 0.1). */
  minDist?: number;
  /** Optimisation epochs (default: umap-js's choice by data size). */
  nEpochs?: number;
  seed?: number;
}

/** UMAP of `features` [n, d] -> points [n, components], seeded (same seed, same picture). Stops on interrupt. */
export async function umapProjection(opts: UmapOptions): Promise<Projection> {
  const f = opts.features;
  checkInput("umapProjection", f, 3);
  const nNeighbors = Math.min(opts.nNeighbors ?? 15, f.rows - 1);
  if (!(Number.isInteger(nNeighbors) && nNeighbors >= 2)) throw new Error(`nNeighbors (${opts.nNeighbors}) must be an integer >= 2.`);
  const components = opts.components ?? 2;
  if (!(Number.isInteger(components) && components >= 1)) throw new Error(`components (${components}) must be a positive integer.`);
  const rng = new Rng(opts.seed ?? 0);
  const umap = new UMAP({ nComponents: components, nNeighbors, minDist: opts.minDist ?? 0.1, nEpochs: opts.nEpochs, random: () => rng.next() });
  // Returning false from the epoch callback stops the optimisation: Jupyter's stop button works here too.
  const points = await umap.fitAsync(toRows(f), () => !interruptRequested());
  throwIfInterrupted("UMAP");
  return { points };
}

/**
 * How often a point's nearest neighbour (Euclidean, in the given space) has the same label: 1 = labels form
 * clean clusters, about Σ p_c² (the chance of two random points agreeing) = no structure. points: [n][d].
 */
export function neighbourAgreement(points: readonly (readonly number[])[], labels: readonly (number | string)[]): number {
  if (points.length !== labels.length) throw new Error(`neighbourAgreement got ${points.length} points and ${labels.length} labels: give one label per point.`);
  if (points.length < 2) throw new Error("neighbourAgreement needs at least 2 points.");
  let agree = 0;
  points.forEach((p, i) => {
    let best = -1;
    let bestD = Infinity;
    points.forEach((q, j) => {
      if (j === i) return;
      let d = 0;
      for (let k = 0; k < p.length; k++) d += (p[k] - q[k]) ** 2;
      if (d < bestD) (bestD = d), (best = j);
    });
    if (labels[best] === labels[i]) agree++;
  });
  return agree / points.length;
}
