// Convolution as im2col + one matrix product, for the wasm and cpu backends.
//
// tfjs runs conv1d as a conv2d of height 1 (NHWC), and its gradient as two kernels: Conv2DBackpropFilter
// (missing on wasm: a convolution cannot train) and Conv2DBackpropInput (a scalar loop on wasm; on cpu all
// three conv kernels are index-arithmetic loops, ~25 s for one conv1d training step). All are products in
// disguise. Unroll every receptive field of x into a row ("im2col"):
//     cols: [P = batch·outH·outW, K = filterH·filterW·inC]
// then with the filter flattened to W: [K, outC] and dy flattened to [P, outC]
//     y  = cols · W              (Conv2D; cpu only: wasm's forward is XNNPACK already)
//     dW = colsᵀ · dy            (Conv2DBackpropFilter)
//     dx = col2im(dy · Wᵀ)       (Conv2DBackpropInput: scatter each row back onto its receptive field)
// and the products go through the pack's matmul (XNNPACK on wasm, gemm.ts on cpu).
import * as tf from "@tensorflow/tfjs";
import { gemm } from "./gemm";
import { MatMulStock, wasmMatMul2D } from "./matmul";
import { CpuBackend, KernelArgs, StockKernel, WasmBackend, heapOffset } from "./wasm_heap";

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function convInfoFor(kernel: string, inShape: number[], filterShape: number[], attrs: Record<string, unknown>): ConvInfo {
  const dataFormat = (attrs.dataFormat as "NHWC" | "NCHW" | undefined) ?? "NHWC";
  if (dataFormat !== "NHWC") {
    throw new Error(`${kernel} (nlu kernel pack): dataFormat ${dataFormat} is not supported; use NHWC.`);
  }
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    // tfjs never passes dilations to the backprop kernels; lib/engine/fused/conv.ts does (dilated conv1d gradients)
    (attrs.dilations as [number, number] | number | undefined) ?? 1,
    attrs.pad as "valid" | "same" | number,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
    false,
    "channelsLast",
  );
}

/**
 * Walk every (output position p, filter row fh, filter column fw) whose input pixel lies inside x, calling
 * visit(p·K + (fh·filterW + fw)·inC, index of x[b, ih, iw, 0]). Padding positions are skipped.
 */
function forEachTap(info: ConvInfo, visit: (colIndex: number, xIndex: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  const K = filterHeight * filterWidth * inChannels;
  let p = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, p++) {
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - padInfo.top + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - padInfo.left + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            visit(p * K + (fh * filterWidth + fw) * inChannels, ((b * inHeight + ih) * inWidth + iw) * inChannels);
          }
        }
      }
    }
  }
}

/** The pack handles float32 NHWC; anything else goes to the stock kernel (or fails with its message). */
function handled(args: KernelArgs): boolean {
  const format = (args.attrs?.dataFormat as string | undefined) ?? "NHWC";
  return format === "NHWC" && Object.values(args.inputs).every((t) => t.dtype === "float32");
}

const sizes = (info: ConvInfo) => ({
  P: info.batchSize * info.outHeight * info.outWidth,
  K: info.filterHeight * info.filterWidth * info.inChannels,
});

/** cols[colBase + ...] = receptive fields of x[xBase + ...]; zeros where the filter hangs over padding. */
function im2col(x: Float32Array, xBase: number, cols: Float32Array, colBase: number, info: ConvInfo): void {
  const { P, K } = sizes(info);
  const c = info.inChannels;
  cols.fill(0, colBase, colBase + P * K);
  if (x === cols) forEachTap(info, (ci, xi) => cols.copyWithin(colBase + ci, xBase + xi, xBase + xi + c));
  else forEachTap(info, (ci, xi) => cols.set(x.subarray(xBase + xi, xBase + xi + c), colBase + ci));
}

/** dx[dxBase + ...] = sum of the rows of dcols over the receptive fields they came from. */
function col2im(dcols: Float32Array, colBase: number, dx: Float32Array, dxBase: number, info: ConvInfo): void {
  const c = info.inChannels;
  dx.fill(0, dxBase, dxBase + info.batchSize * info.inHeight * info.inWidth * c);
  forEachTap(info, (ci, xi) => {
    const src = colBase + ci;
    const dst = dxBase + xi;
    for (let j = 0; j < c; j++) dx[dst + j] += dcols[src + j];
  });
}

// ---- wasm: matrices on the heap, products through the pack's BatchMatMul (XNNPACK) ----

/** Conv2DBackpropFilter: x: [b, h, w, inC], dy: [b, outH, outW, outC] -> dW: filterShape [fh, fw, inC, outC] */
export function wasmConv2DBackpropFilter(args: KernelArgs, stock: MatMulStock): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs;
  const attrs: Record<string, unknown> = args.attrs ?? {};
  const filterShape = attrs.filterShape as number[];
  const info = convInfoFor("Conv2DBackpropFilter", x.shape, filterShape, attrs);
  const { P, K } = sizes(info);
  const cols = backend.makeOutput([P, K], "float32");
  try {
    const heap = backend.wasm.HEAPF32; // after the allocation: the heap may have grown
    im2col(heap, heapOffset(backend, x) >> 2, heap, heapOffset(backend, cols) >> 2, info);
    const dy2d = { dataId: dy.dataId, shape: [P, info.outChannels], dtype: dy.dtype };
    const dw = wasmMatMul2D(backend, stock, cols, dy2d, true, false);
    return { dataId: dw.dataId, shape: [...filterShape], dtype: dw.dtype };
  } finally {
    backend.disposeData(cols.dataId);
  }
}

/** Conv2DBackpropInput: dy: [b, outH, outW, outC], filter: [fh, fw, inC, outC] -> dx: inputShape [b, h, w, inC] */
export function wasmConv2DBackpropInput(args: KernelArgs, stock: MatMulStock, stockConv: StockKernel): tf.TensorInfo {
  if (!handled(args)) return stockConv(args) as tf.TensorInfo;
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs;
  const attrs: Record<string, unknown> = args.attrs ?? {};
  const inputShape = attrs.inputShape as number[];
  const info = convInfoFor("Conv2DBackpropInput", inputShape, filter.shape, attrs);
  const { P, K } = sizes(info);
  const dy2d = { dataId: dy.dataId, shape: [P, info.outChannels], dtype: dy.dtype };
  const w2d = { dataId: filter.dataId, shape: [K, info.outChannels], dtype: filter.dtype };
  const dcols = wasmMatMul2D(backend, stock, dy2d, w2d, false, true);
  try {
    const dx = backend.makeOutput([...inputShape], "float32");
    const heap = backend.wasm.HEAPF32;
    col2im(heap, heapOffset(backend, dcols) >> 2, heap, heapOffset(backend, dx) >> 2, info);
    return dx;
  } finally {
    backend.disposeData(dcols.dataId);
  }
}

// ---- cpu: plain Float32Arrays, products through gemm.ts ----

function cpuValues(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  const v = backend.readSync(t.dataId);
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** Conv2D: x: [b, h, w, inC], filter: [fh, fw, inC, outC] -> [b, outH, outW, outC] (strides, pads, dilations). */
export function cpuConv2D(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  if (!handled(args)) return stock(args) as tf.TensorInfo;
  const backend = args.backend as CpuBackend;
  const { x, filter } = args.inputs;
  const info = convInfoFor("Conv2D", x.shape, filter.shape, args.attrs ?? {});
  const { P, K } = sizes(info);
  const cols = new Float32Array(P * K);
  im2col(cpuValues(backend, x), 0, cols, 0, info);
  const y = new Float32Array(P * info.outChannels);
  gemm(cols, 0, cpuValues(backend, filter), 0, y, 0, P, K, info.outChannels);
  return backend.makeTensorInfo(info.outShape, "float32", y);
}

/** Conv2DBackpropFilter on cpu: dW = colsᵀ · dy. */
export function cpuConv2DBackpropFilter(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  if (!handled(args)) return stock(args) as tf.TensorInfo;
  const backend = args.backend as CpuBackend;
  const { x, dy } = args.inputs;
  const filterShape = args.attrs?.filterShape as number[];
  const info = convInfoFor("Conv2DBackpropFilter", x.shape, filterShape, args.attrs ?? {});
  const { P, K } = sizes(info);
  const cols = new Float32Array(P * K);
  im2col(cpuValues(backend, x), 0, cols, 0, info);
  const dw = new Float32Array(K * info.outChannels);
  gemm(transpose2d(cols, P, K), 0, cpuValues(backend, dy), 0, dw, 0, K, P, info.outChannels);
  return backend.makeTensorInfo([...filterShape], "float32", dw);
}

/** Conv2DBackpropInput on cpu: dx = col2im(dy · Wᵀ). */
export function cpuConv2DBackpropInput(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  if (!handled(args)) return stock(args) as tf.TensorInfo;
  const backend = args.backend as CpuBackend;
  const { dy, filter } = args.inputs;
  const inputShape = args.attrs?.inputShape as number[];
  const info = convInfoFor("Conv2DBackpropInput", inputShape, filter.shape, args.attrs ?? {});
  const { P, K } = sizes(info);
  const dcols = new Float32Array(P * K);
  gemm(cpuValues(backend, dy), 0, transpose2d(cpuValues(backend, filter), K, info.outChannels), 0, dcols, 0, P, info.outChannels, K);
  const dx = new Float32Array(tf.util.sizeFromShape(inputShape));
  col2im(dcols, 0, dx, 0, info);
  return backend.makeTensorInfo([...inputShape], "float32", dx);
}
