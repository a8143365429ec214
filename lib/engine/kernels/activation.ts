// tanh on wasm through XNNPACK's vectorised sigmoid: tanh(x) = 2·σ(2x) − 1.
//
// tfjs-backend-wasm computes Tanh with the C library's scalar tanhf, ~23 ns per element: 6 ms for one GELU
// (tanh approximation, lib/nn/layers.ts) over a [32, 16, 512] feed-forward activation, four of them per
// transformer encoder-decoder step. Its Sigmoid goes through XNNPACK's SIMD kernel, so the identity above moves
// the work there (three passes over the data instead of one slow one). Near 0 the identity cancels (2σ − 1
// loses relative precision as tanh(x) → 0), so |x| < 0.05 uses tanh's Taylor series to x⁷ instead, which is
// exact to float32 there. NaN stays NaN and ±∞ gives ±1, as tanhf does. Agreement with the stock kernel (within
// a few float32 ulps of 1) is tested in test/engine-kernels.test.ts.
import * as tf from "@tensorflow/tfjs";
import { HeapViews, KernelArgs, StockKernel, WasmBackend, heapOffset } from "./wasm_heap";

/** Below this many elements the stock kernel is as fast (three passes and a kernel call cost more). */
const MIN_SIZE = 1024;
/** Below this |x| the series is used (its next term, 62x⁹/2835, is < 1e-13 here). */
const SERIES_BELOW = 0.05;

export function wasmTanh(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs;
  const size = tf.util.sizeFromShape(x.shape);
  if (x.dtype !== "float32" || size < MIN_SIZE) return stock(args) as tf.TensorInfo;
  const out = backend.makeOutput(x.shape, "float32");
  const src = heapOffset(backend, x) >> 2;
  const dst = heapOffset(backend, out) >> 2;
  let heap = backend.wasm.HEAPF32; // read after makeOutput: an allocation can grow (and so replace) the heap
  for (let i = 0; i < size; i++) heap[dst + i] = 2 * heap[src + i];
  const views = new HeapViews(backend);
  try {
    const id = views.view(4 * dst, size);
    backend.wasm._Sigmoid(id, id); // elementwise, in place
  } finally {
    views.release();
  }
  heap = backend.wasm.HEAPF32;
  for (let i = 0; i < size; i++) {
    const v = heap[src + i];
    if (Math.abs(v) < SERIES_BELOW) {
      const v2 = v * v;
      heap[dst + i] = v * (1 + v2 * (-1 / 3 + v2 * (2 / 15 - v2 * (17 / 315))));
    } else {
      heap[dst + i] = 2 * heap[dst + i] - 1;
    }
  }
  return out;
}
