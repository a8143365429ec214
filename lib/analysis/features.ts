// Features: the plain matrices that every analysis in lib/analysis works on.
//
// Hidden states leave the model as tensors [batch, time, width] with padding in them. Analysis wants the
// opposite: one row per REAL token (or per sentence), nothing padded, in plain memory that outlives any
// tf.tidy. A Features value is that: `rows` × `cols` float32 numbers, row-major, in one Float32Array.
// Probes, PCA/UMAP, CKA and self-similarity all take Features, so none of them ever sees padding.

/** A row-major float32 matrix: row i is data[i·cols, (i+1)·cols). Shape [rows, cols]. */
export interface Features {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

function checkFeatures(what: string, f: Features): void {
  if (!f || !Number.isInteger(f.rows) || !Number.isInteger(f.cols) || !(f.data instanceof Float32Array)) {
    throw new Error(`${what} must be Features { rows, cols, data: Float32Array } (build them with toFeatures or sentenceVectors).`);
  }
  if (f.data.length !== f.rows * f.cols) {
    throw new Error(`${what} has data of length ${f.data.length}, but rows × cols = ${f.rows} × ${f.cols}: rebuild it with toFeatures.`);
  }
}

/** number[][] (one array per row, all the same length) -> Features. An empty list is an error. */
export function toFeatures(rows: readonly (ArrayLike<number>)[]): Features {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("toFeatures got no rows: pass at least one vector.");
  const cols = rows[0].length;
  if (!(cols > 0)) throw new Error("toFeatures: rows must hold at least one number each.");
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`toFeatures: row ${i} has ${r.length} values, row 0 has ${cols}: every row needs the same size.`);
    data.set(r, i * cols);
  });
  return { rows: rows.length, cols, data };
}

/** Features -> number[][] (for libraries that want arrays, e.g. ml-pca, umap-js). */
export function toRows(f: Features): number[][] {
  checkFeatures("features", f);
  return Array.from({ length: f.rows }, (_, i) => Array.from(f.data.subarray(i * f.cols, (i + 1) * f.cols)));
}

/** Row i as a view (no copy). */
export function featureRow(f: Features, i: number): Float32Array {
  if (!(Number.isInteger(i) && i >= 0 && i < f.rows)) throw new Error(`row ${i} is out of range: features have rows 0..${f.rows - 1}.`);
  return f.data.subarray(i * f.cols, (i + 1) * f.cols);
}

/** The rows at `index`, in that order (repeats allowed): [index.length, cols]. */
export function selectRows(f: Features, index: readonly number[]): Features {
  checkFeatures("features", f);
  if (index.length === 0) throw new Error("selectRows got no indices: select at least one row.");
  const data = new Float32Array(index.length * f.cols);
  index.forEach((r, k) => data.set(featureRow(f, r), k * f.cols));
  return { rows: index.length, cols: f.cols, data };
}

/** Throw unless a and b describe the same examples (same row count): the precondition of CKA and probes. */
export function checkSameRows(a: Features, b: Features, what = "the two feature sets"): void {
  checkFeatures("features", a);
  checkFeatures("features", b);
  if (a.rows !== b.rows) {
    throw new Error(`${what} have ${a.rows} and ${b.rows} rows: they must hold the same examples in the same order.`);
  }
}

/**
 * Column means and standard deviations over rows (float64 accumulation), std floored at `eps` so that a
 * constant column does not divide by zero. -> { mean [cols], std [cols] }
 */
export function columnStats(f: Features, eps = 1e-6): { mean: Float64Array; std: Float64Array } {
  checkFeatures("features", f);
  const mean = new Float64Array(f.cols);
  const sq = new Float64Array(f.cols);
  for (let i = 0; i < f.rows; i++) {
    const o = i * f.cols;
    for (let j = 0; j < f.cols; j++) mean[j] += f.data[o + j];
  }
  for (let j = 0; j < f.cols; j++) mean[j] /= f.rows;
  for (let i = 0; i < f.rows; i++) {
    const o = i * f.cols;
    for (let j = 0; j < f.cols; j++) sq[j] += (f.data[o + j] - mean[j]) ** 2;
  }
  const std = sq.map((s) => Math.max(eps, Math.sqrt(s / f.rows)));
  return { mean, std };
}

/** (x − mean) / std per column, with given statistics (fit them on training rows only). */
export function standardize(f: Features, stats: { mean: Float64Array; std: Float64Array }): Features {
  checkFeatures("features", f);
  if (stats.mean.length !== f.cols) throw new Error(`standardize: statistics for ${stats.mean.length} columns, features have ${f.cols}.`);
  const data = new Float32Array(f.data.length);
  for (let i = 0; i < f.rows; i++) {
    const o = i * f.cols;
    for (let j = 0; j < f.cols; j++) data[o + j] = (f.data[o + j] - stats.mean[j]) / stats.std[j];
  }
  return { rows: f.rows, cols: f.cols, data };
}
