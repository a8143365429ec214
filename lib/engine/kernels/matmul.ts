// BatchMatMul for the wasm backend: every case routed through XNNPACK's fast path.
//
// The stock wasm kernel calls XNNPACK (~20-30 GFLOP/s on one core) only when both operands have batch 1 and
// neither is transposed; everything else falls to a scalar triple loop (~1-2 GFLOP/s). A training step is
// mostly "everything else": the backward pass of y = x·W needs x^T·dy and dy·W^T, and attention multiplies
// [batch·heads, t, d] by [batch·heads, d, t]. So:
//   1. a transposed operand is transposed explicitly first (a memory pass, cheap next to the product);
//   2. if b has batch 1 (a shared weight), a's batches are folded into its rows: ONE fast call;
//   3. otherwise each batch goes through the fast path separately, on zero-copy heap views (wasm_heap.ts).
// Broadcasting of batch dimensions follows numpy; the stock kernel reads a's batch count only and gets
// broadcast cases wrong, so this is also a correctness fix.
import * as tf from "@tensorflow/tfjs";
import { broadcastBatch } from "./gemm";
import { HeapViews, KernelArgs, StockKernel, WasmBackend, heapId, heapOffset, writeShapes } from "./wasm_heap";

/** Below this many multiply-adds per batch the per-call cost of XNNPACK (~10 µs) beats its speed. */
const TINY_PRODUCT = 8192;

export interface MatMulStock {
  batchMatMul: StockKernel;
  transpose: StockKernel;
}

/** Swap the last two axes of a [batch, r, c] tensor with the stock C++ Transpose. */
function swapLastTwo(backend: WasmBackend, stock: MatMulStock, t: tf.TensorInfo, batch: number): tf.TensorInfo {
  const rows = t.shape[t.shape.length - 2];
  const cols = t.shape[t.shape.length - 1];
  const x = { dataId: t.dataId, shape: [batch, rows, cols], dtype: t.dtype };
  return stock.transpose({ inputs: { x }, backend, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
}

function trackTemp(temps: tf.TensorInfo[], t: tf.TensorInfo): tf.TensorInfo {
  temps.push(t);
  return t;
}

/**
 * XNNPACK's fully-connected operator copies ("packs") its right operand before multiplying, and the pack
 * needs both operands untransposed. For one product, count the elements each orientation copies:
 *   a·b:        transposed operands (m·k if transposeA, k·n if transposeB) + packing b (k·n)
 *   (bᵀ·aᵀ)ᵀ:   b unless already transposed (k·n) + a unless already transposed (m·k) + packing aᵀ (k·m)
 *               + transposing the result (m·n)
 * The swap wins for the backward pass of a small batch through a big weight (an LSTM step: dy·Wᵀ with
 * dy [32, 512], W [192, 512] copies 38K elements instead of 196K), and loses for large batches.
 */
export function swapIsCheaper(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): boolean {
  const plain = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + k * m + m * n;
  return swapped < 0.75 * plain;
}

/**
 * a: [...batchA, m, k] (or [..., k, m] with transposeA), b: [...batchB, k, n] (or [..., n, k] with transposeB)
 * -> [...broadcast(batchA, batchB), m, n]
 */
export function wasmBatchMatMul(args: KernelArgs, stock: MatMulStock): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return stock.batchMatMul(args) as tf.TensorInfo; // the stock kernel owns the error messages
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  const batchA = tf.util.sizeFromShape(batchShapeA);
  const batchB = tf.util.sizeFromShape(batchShapeB);
  const batch = tf.util.sizeFromShape(batchShape);
  const outShape = [...batchShape, m, n];

  if (batch === 1 && !transposeA && !transposeB) return stock.batchMatMul(args) as tf.TensorInfo; // already fast
  if (batchA === batchB && m * k * n < TINY_PRODUCT) return stock.batchMatMul(args) as tf.TensorInfo;

  const out = backend.makeOutput(outShape, "float32");
  if (batch * m * n === 0) return out;
  if (k === 0) {
    new Float32Array(backend.wasm.HEAPU8.buffer, heapOffset(backend, out), batch * m * n).fill(0);
    return out;
  }

  // 1. Explicit transposes (below), so every product is a plain [m, k]·[k, n].
  const temps: tf.TensorInfo[] = [];
  let a3 = a;
  let b3 = b;

  const wasm = backend.wasm;
  const views = new HeapViews(backend);
  try {
    if (batch === 1 && swapIsCheaper(m, k, n, transposeA, transposeB)) {
      // 4. Compute outᵀ = bᵀ·aᵀ instead: XNNPACK packs aᵀ (m·k) rather than b (k·n), and a transposed
      // operand is already in the layout this orientation wants (see swapIsCheaper).
      const input = transposeB ? b : trackTemp(temps, swapLastTwo(backend, stock, b, 1)); // bᵀ: [n, k]
      const weights = transposeA ? a : trackTemp(temps, swapLastTwo(backend, stock, a, 1)); // aᵀ: [k, m]
      const outT = trackTemp(temps, backend.makeOutput([n, m], "float32"));
      const shapes = writeShapes(wasm, [1, n, k, 1, k, m]);
      wasm._BatchMatMul(heapId(backend, input), shapes, 3, heapId(backend, weights), shapes + 12, 3, 0, 0, heapId(backend, outT));
      backend.disposeData(out.dataId);
      const result = swapLastTwo(backend, stock, outT, 1);
      return { dataId: result.dataId, shape: outShape, dtype: "float32" };
    }
    if (transposeA) temps.push((a3 = swapLastTwo(backend, stock, a, batchA)));
    if (transposeB) temps.push((b3 = swapLastTwo(backend, stock, b, batchB)));
    if (batchB === 1) {
      // 2. Shared b: rows of all of a's batches in one call. Real ids, so XNNPACK's operator cache (keyed by
      // b's id, freed when b is disposed) still works for weights reused across calls.
      const shapes = writeShapes(wasm, [1, batch * m, k, 1, k, n]);
      wasm._BatchMatMul(heapId(backend, a3), shapes, 3, heapId(backend, b3), shapes + 12, 3, 0, 0, heapId(backend, out));
      return out;
    }
    // 3. One fast call per output batch on heap views.
    const shapes = writeShapes(wasm, [1, m, k, 1, k, n]);
    const aBase = heapOffset(backend, a3);
    const bBase = heapOffset(backend, b3);
    const outBase = heapOffset(backend, out);
    for (let i = 0; i < batch; i++) {
      const ia = batchA === batch ? i : broadcastBatch(i, batchShape, batchShapeA);
      const ib = batchB === batch ? i : broadcastBatch(i, batchShape, batchShapeB);
      const aId = views.view(aBase + 4 * ia * m * k, m * k);
      const bId = views.view(bBase + 4 * ib * k * n, k * n);
      const oId = views.view(outBase + 4 * i * m * n, m * n);
      wasm._BatchMatMul(aId, shapes, 3, bId, shapes + 12, 3, 0, 0, oId);
      // Release as we go: each view of b holds a packed XNNPACK operator until disposed.
      views.release();
    }
    return out;
  } finally {
    views.release();
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** [rows, k]·[k, n] on the wasm heap for the pack's other kernels (e.g. im2col convolution). */
export function wasmMatMul2D(
  backend: WasmBackend,
  stock: MatMulStock,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  return wasmBatchMatMul({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } }, stock);
}
