// Comparisons with broadcasting on wasm (Equal, NotEqual, Greater, GreaterEqual, Less, LessEqual).
//
// tfjs-backend-wasm compares equal shapes in a plain loop, but a broadcast operand sends it through a generic
// per-element index computation: ~12 ms for x [32, 32, 128] against its max [32, 1, 128] — which is exactly the
// gradient of tf.max (dy · [x == max]), i.e. of every max-pool over time (lecture 2's CNN): one comparison cost
// more than the model's three convolutions' forward pass. Here the output is walked once with per-input strides
// (0 along a broadcast axis), the last axis as an inner loop. JavaScript's comparisons are IEEE's, as C++'s:
// NaN is unequal to everything, -0 equals 0.
import * as tf from "@tensorflow/tfjs";
import { KernelArgs, StockKernel, WasmBackend, heapOffset } from "./wasm_heap";

export const COMPARISONS = ["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"] as const;
export type Comparison = (typeof COMPARISONS)[number];

const TESTS: Record<Comparison, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  NotEqual: (a, b) => a !== b,
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
};

/** Element strides of `shape` read as the output's `outShape` (right-aligned; 0 along broadcast axes). */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const strides = new Array(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, o = outShape.length - 1; i >= 0; i--, o--) {
    strides[o] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/** a <op> b with numpy broadcasting, float32 or int32 inputs of one dtype -> bool. Other cases: the stock kernel. */
export function wasmCompare(op: Comparison, args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs;
  const numeric = a.dtype === b.dtype && (a.dtype === "float32" || a.dtype === "int32");
  if (!numeric || tf.util.arraysEqual(a.shape, b.shape)) return stock(args) as tf.TensorInfo;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const out = backend.makeOutput(outShape, "bool");
  const size = tf.util.sizeFromShape(outShape);
  if (size === 0) return out;
  const heap = a.dtype === "float32" ? backend.wasm.HEAPF32 : backend.wasm.HEAP32;
  const bytes = backend.wasm.HEAPU8;
  const aBase = heapOffset(backend, a) >> 2;
  const bBase = heapOffset(backend, b) >> 2;
  const oBase = heapOffset(backend, out); // bool: one byte per element
  const rank = outShape.length;
  const sa = broadcastStrides(a.shape, outShape);
  const sb = broadcastStrides(b.shape, outShape);
  const inner = outShape[rank - 1];
  const ia = sa[rank - 1];
  const ib = sb[rank - 1];
  const test = TESTS[op];
  const index = new Array(Math.max(rank - 1, 0)).fill(0); // odometer over the outer axes
  let pa = aBase;
  let pb = bBase;
  for (let o = oBase, end = oBase + size; o < end; ) {
    for (let j = 0, qa = pa, qb = pb; j < inner; j++, qa += ia, qb += ib) bytes[o++] = test(heap[qa], heap[qb]) ? 1 : 0;
    // Next outer index: step the last outer axis, carrying into earlier ones.
    for (let axis = rank - 2; axis >= 0; axis--) {
      pa += sa[axis];
      pb += sb[axis];
      if (++index[axis] < outShape[axis]) break;
      pa -= sa[axis] * outShape[axis];
      pb -= sb[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return out;
}
