// Memory-layout kernels for the wasm backend: Transpose, GatherV2 and Sum over leading axes.
//
// A transformer step moves more bytes than it multiplies: splitting heads is a 5-D transpose, every linear
// layer's bias gradient sums over the batch, every embedding lookup gathers rows. The stock C++ kernels
// walk such tensors one element at a time with index arithmetic (a 5-D transpose of 0.8M floats: ~45 ms;
// a 2-D one of 4M: ~23 ms; a bias-gradient sum first transposes its input). Here each becomes a sequence
// of contiguous row copies or a cache-blocked loop over the heap:
//   - Transpose: axes that move together are merged first; if the last axis stays last, the output is
//     runs of it copied with copyWithin; a 2-D (or batched 2-D) transpose is done in 8×8 blocks.
//   - GatherV2: one row copy per index.
//   - Sum over the leading axes (bias gradients): rows added in order, into a float64 accumulator.
//   - Unpack / Pack (tf.unstack / tf.stack: q, k, v out of one projection; an RNN's time steps and their
//     gradients): run copies, instead of one stock Slice (or Concat) kernel per piece.
// Everything else goes to the stock kernel. Copies use Int32Array views, which are bit-exact for float32.
import * as tf from "@tensorflow/tfjs";
import { KernelArgs, StockKernel, WasmBackend, heapOffset } from "./wasm_heap";

const BLOCK = 8;

/** Drop size-1 axes and merge axes that stay adjacent and in order: same permutation, fewer dims. */
export function simplifyPermutation(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Runs of consecutive input axes in output order become one axis.
  const groups: number[][] = [];
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const byInputOrder = [...groups].sort((a, b) => a[0] - b[0]);
  const newShape = byInputOrder.map((g) => g.reduce((p, axis) => p * shape[axis], 1));
  const newPerm = groups.map((g) => byInputOrder.indexOf(g));
  return { shape: newShape, perm: newPerm };
}

function isIdentity(perm: number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** dst[c, r] = src[r, c] for `batch` consecutive [rows, cols] matrices, in cache-sized blocks. */
function blockedTranspose(heap: Int32Array, src: number, dst: number, batch: number, rows: number, cols: number): void {
  const size = rows * cols;
  for (let b = 0; b < batch; b++, src += size, dst += size) {
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(r0 + BLOCK, rows);
      for (let c0 = 0; c0 < cols; c0 += BLOCK) {
        const c1 = Math.min(c0 + BLOCK, cols);
        for (let r = r0; r < r1; r++) {
          let s = src + r * cols + c0;
          let d = dst + c0 * rows + r;
          for (let c = c0; c < c1; c++, s++, d += rows) heap[d] = heap[s];
        }
      }
    }
  }
}

/** Output = runs of the (unmoved) last axis, gathered in output order from the strided input. */
function runCopyTranspose(heap: Int32Array, src: number, dst: number, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const run = shape[rank - 1];
  const inStrides = tf.util.computeStrides(shape).concat([1]);
  const outer = perm.slice(0, -1).map((axis) => shape[axis]);
  const strides = perm.slice(0, -1).map((axis) => inStrides[axis]);
  const count = outer.reduce((p, d) => p * d, 1);
  const coord = new Array(outer.length).fill(0);
  let s = src;
  for (let i = 0; i < count; i++, dst += run) {
    if (run >= 16) heap.copyWithin(dst, s, s + run);
    else for (let j = 0; j < run; j++) heap[dst + j] = heap[s + j];
    // Odometer over the output's outer axes, moving the source offset along.
    for (let d = outer.length - 1; d >= 0; d--) {
      s += strides[d];
      if (++coord[d] < outer[d]) break;
      s -= strides[d] * outer[d];
      coord[d] = 0;
    }
  }
}

/** Transpose: x: any shape, perm -> x.shape permuted. */
export function wasmTranspose(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs;
  const perm = args.attrs?.perm as number[];
  if (x.dtype !== "float32" && x.dtype !== "int32") return stock(args) as tf.TensorInfo;
  const simple = simplifyPermutation(x.shape, perm);
  const rank = simple.shape.length;
  const lastStays = rank > 0 && simple.perm[rank - 1] === rank - 1;
  const batched2d = rank === 3 && simple.perm[0] === 0 && simple.perm[1] === 2;
  if (isIdentity(simple.perm) || !(lastStays || rank === 2 || batched2d)) return stock(args) as tf.TensorInfo;

  const out = backend.makeOutput(perm.map((axis) => x.shape[axis]), x.dtype);
  const heap = backend.wasm.HEAP32;
  const src = heapOffset(backend, x) >> 2;
  const dst = heapOffset(backend, out) >> 2;
  if (lastStays) runCopyTranspose(heap, src, dst, simple.shape, simple.perm);
  else if (rank === 2) blockedTranspose(heap, src, dst, 1, simple.shape[0], simple.shape[1]);
  else blockedTranspose(heap, src, dst, simple.shape[0], simple.shape[1], simple.shape[2]);
  return out;
}

/** GatherV2 (batchDims 0): x: [...outer, n, ...inner], indices: I -> [...outer, ...I, ...inner] */
export function wasmGatherV2(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, indices } = args.inputs;
  const batchDims = Number(args.attrs?.batchDims ?? 0);
  if ((x.dtype !== "float32" && x.dtype !== "int32") || indices.dtype !== "int32" || batchDims !== 0) {
    return stock(args) as tf.TensorInfo;
  }
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const n = x.shape[axis];
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const count = tf.util.sizeFromShape(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  const heap = backend.wasm.HEAP32;
  const idx = heapOffset(backend, indices) >> 2;
  const src = heapOffset(backend, x) >> 2;
  let dst = heapOffset(backend, out) >> 2;
  for (let i = 0; i < count; i++) {
    const row = heap[idx + i];
    if (row < 0 || row >= n) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${row} is not in [0, ${n - 1}]`);
    }
  }
  for (let o = 0; o < outer; o++) {
    const base = src + o * n * inner;
    for (let i = 0; i < count; i++, dst += inner) {
      const s = base + heap[idx + i] * inner;
      if (inner >= 16) heap.copyWithin(dst, s, s + inner);
      else for (let j = 0; j < inner; j++) heap[dst + j] = heap[s + j];
    }
  }
  return out;
}

/** Sum over leading axes only (x: [...reduced, ...kept] -> [...kept]); other reductions go to the stock kernel. */
export function wasmSum(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs;
  const axes = tf.util.parseAxisParam(args.attrs?.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((axis, i) => axis === i) && axes.length < x.shape.length;
  if (x.dtype !== "float32" || !leading) return stock(args) as tf.TensorInfo;
  const keep = x.shape.slice(axes.length);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  const cols = tf.util.sizeFromShape(keep);
  const outShape = args.attrs?.keepDims ? [...axes.map(() => 1), ...keep] : keep;
  const out = backend.makeOutput(outShape, "float32");
  const heap = backend.wasm.HEAPF32;
  const src = heapOffset(backend, x) >> 2;
  const dst = heapOffset(backend, out) >> 2;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = src + r * cols;
    for (let c = 0; c < cols; c++) acc[c] += heap[row + c];
  }
  for (let c = 0; c < cols; c++) heap[dst + c] = acc[c];
  return out;
}

/** Copy `count` runs of `run` elements (bit-exact, any 4-byte dtype). */
function copyRuns(heap: Int32Array, src: number, srcStride: number, dst: number, dstStride: number, count: number, run: number): void {
  for (let i = 0; i < count; i++, src += srcStride, dst += dstStride) {
    if (run >= 16) heap.copyWithin(dst, src, src + run);
    else for (let j = 0; j < run; j++) heap[dst + j] = heap[src + j];
  }
}

/** Unpack (tf.unstack): value: [...outer, n, ...inner] -> n × [...outer, ...inner] */
export function wasmUnpack(args: KernelArgs, stock: StockKernel): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const { value } = args.inputs;
  if (value.dtype !== "float32" && value.dtype !== "int32") return stock(args) as tf.TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, value.shape)[0];
  const n = value.shape[axis];
  const outShape = value.shape.filter((_, d) => d !== axis);
  const outer = tf.util.sizeFromShape(value.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(value.shape.slice(axis + 1));
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < n; i++) outs.push(backend.makeOutput([...outShape], value.dtype));
  const heap = backend.wasm.HEAP32; // after the allocations
  const src = heapOffset(backend, value) >> 2;
  outs.forEach((out, i) => copyRuns(heap, src + i * inner, n * inner, heapOffset(backend, out) >> 2, inner, outer, inner));
  return outs;
}

/** Pack (tf.stack): n × [...outer, ...inner] -> [...outer, n, ...inner] */
export function wasmPack(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const inputs = Object.values(args.inputs);
  const first = inputs[0];
  const same = inputs.every((t) => t.dtype === first.dtype && String(t.shape) === String(first.shape));
  if (inputs.length === 0 || !same || (first.dtype !== "float32" && first.dtype !== "int32")) {
    return stock(args) as tf.TensorInfo;
  }
  const n = inputs.length;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, [...first.shape, n])[0];
  const outShape = [...first.shape.slice(0, axis), n, ...first.shape.slice(axis)];
  const outer = tf.util.sizeFromShape(first.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(first.shape.slice(axis));
  const out = backend.makeOutput(outShape, first.dtype);
  const heap = backend.wasm.HEAP32;
  const dst = heapOffset(backend, out) >> 2;
  inputs.forEach((t, i) => copyRuns(heap, heapOffset(backend, t) >> 2, inner, dst + i * inner, n * inner, outer, inner));
  return out;
}
