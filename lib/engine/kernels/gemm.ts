// BatchMatMul for the pure-JS cpu backend: a plain row-major GEMM that V8 runs ~2-3x faster than the stock one.
//
// The stock cpu kernel computes every output element as a strided dot product (index arithmetic per
// multiply-add, ~0.5 GFLOP/s). Here transposed operands are first copied into row-major [m, k] / [k, n]
// order, then four output rows at a time are accumulated as out[i, :] += a[i, p] · b[p, :], so the inner
// loop streams contiguous rows and reuses each loaded b value four times (~1.2-1.5 GFLOP/s).
// Batch dimensions broadcast like numpy (the stock kernel uses `batch % size`, which is wrong when both
// operands broadcast). The cpu backend is the fallback when wasm cannot load; this keeps it usable.
import * as tf from "@tensorflow/tfjs";
import { CpuBackend, KernelArgs, StockKernel } from "./wasm_heap";

/** out[m, n] = a[m, k] · b[k, n] for row-major slices starting at aOff, bOff, outOff (out is overwritten). */
export function gemm(
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, out: Float32Array, outOff: number,
  m: number, k: number, n: number,
): void {
  out.fill(0, outOff, outOff + m * n);
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const c0 = outOff + i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const r0 = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const a0 = a[r0 + p];
      const a1 = a[r0 + k + p];
      const a2 = a[r0 + 2 * k + p];
      const a3 = a[r0 + 3 * k + p];
      const bo = bOff + p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bo + j];
        out[c0 + j] += a0 * bv;
        out[c1 + j] += a1 * bv;
        out[c2 + j] += a2 * bv;
        out[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const c = outOff + i * n;
    for (let p = 0; p < k; p++) {
      const av = a[aOff + i * k + p];
      const bo = bOff + p * n;
      for (let j = 0; j < n; j++) out[c + j] += av * b[bo + j];
    }
  }
}

/** [batch, rows, cols] -> [batch, cols, rows] into a new array. */
function transposeBatches(x: ArrayLike<number>, batch: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(batch * rows * cols);
  for (let b = 0, base = 0; b < batch; b++, base += rows * cols) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[base + c * rows + r] = x[base + r * cols + c];
    }
  }
  return out;
}

/** Right-aligned broadcast index: which batch of an operand with batch shape `shape` feeds output batch `flat`. */
export function broadcastBatch(flat: number, outShape: number[], shape: number[]): number {
  let index = 0;
  let stride = 1;
  const offset = outShape.length - shape.length;
  for (let d = outShape.length - 1; d >= 0; d--) {
    const coord = flat % outShape[d];
    flat = Math.floor(flat / outShape[d]);
    const dim = d - offset >= 0 ? shape[d - offset] : 1;
    if (dim !== 1) index += coord * stride;
    stride *= dim;
  }
  return index;
}

const asF32 = (x: ArrayLike<number>): Float32Array => (x instanceof Float32Array ? x : Float32Array.from(x));

/** a: [...batchA, m, k] (or [..., k, m]), b: [...batchB, k, n] (or [..., n, k]) -> [...broadcast, m, n] */
export function cpuBatchMatMul(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const { a, b } = args.inputs;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return stock(args) as tf.TensorInfo;
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return stock(args) as tf.TensorInfo; // the stock kernel words the shape error
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  const batchA = tf.util.sizeFromShape(batchShapeA);
  const batchB = tf.util.sizeFromShape(batchShapeB);
  const batch = tf.util.sizeFromShape(batchShape);
  let av = asF32(backend.readSync(a.dataId));
  let bv = asF32(backend.readSync(b.dataId));
  if (transposeA) av = transposeBatches(av, batchA, k, m);
  if (transposeB) bv = transposeBatches(bv, batchB, n, k);
  const out = new Float32Array(batch * m * n);
  if (batchB === 1) {
    gemm(av, 0, bv, 0, out, 0, batch * m, k, n); // a's batches are just more rows
  } else {
    for (let i = 0; i < batch; i++) {
      const ia = batchA === batch ? i : broadcastBatch(i, batchShape, batchShapeA);
      const ib = batchB === batch ? i : broadcastBatch(i, batchShape, batchShapeB);
      gemm(av, ia * m * k, bv, ib * k * n, out, i * m * n, m, k, n);
    }
  }
  return backend.makeTensorInfo([...batchShape, m, n], "float32", out);
}
