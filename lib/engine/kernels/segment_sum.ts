// UnsortedSegmentSum as one scatter-add pass: the gradient of gather, i.e. of every embedding lookup.
//
// out[segmentIds[i], ...] += x[i, ...]. The wasm backend has no such kernel at all (an embedding cannot
// train), and the cpu backend's builds one mask per segment and sums it (vocab × batch × width work: seconds
// per step at vocab 2000). A single pass over x is batch × width.
//
// Semantics (tested against the stock cpu kernel where that one is defined):
//  - segmentIds' shape is a prefix of x's shape; out: [numSegments, ...x.shape.slice(segmentIds.rank)].
//  - Ids outside [0, numSegments) — negative or too large — are dropped, like TensorFlow drops negative
//    ids and like tfjs's cpu kernel drops both. Segments no id points at are zeros.
import * as tf from "@tensorflow/tfjs";
import { CpuBackend, KernelArgs, WasmBackend, heapOffset } from "./wasm_heap";

type Numbers = { [i: number]: number; length: number };

export interface SegmentSumPlan {
  outShape: number[];
  numSegments: number;
  /** Elements per id: product of x's dims after segmentIds' rank. */
  inner: number;
}

/** Validates shapes and dtype, the same way on every backend. */
export function planSegmentSum(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number): SegmentSumPlan {
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`unsortedSegmentSum: numSegments (${numSegments}) must be a non-negative integer.`);
  }
  const rank = segmentIds.shape.length;
  const prefix = x.shape.slice(0, rank);
  if (rank > x.shape.length || prefix.some((d, i) => d !== segmentIds.shape[i])) {
    throw new Error(
      `unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}] ` +
        `(one id per leading position of x).`,
    );
  }
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new Error(`unsortedSegmentSum: x dtype ${x.dtype} is not supported; cast to float32 or int32.`);
  }
  const innerShape = x.shape.slice(rank);
  return { outShape: [numSegments, ...innerShape], numSegments, inner: tf.util.sizeFromShape(innerShape) };
}

/** out (zeroed here) += rows of x, scattered by ids; out-of-range ids skipped. */
export function scatterAdd(x: Numbers, ids: Numbers, plan: SegmentSumPlan, out: Numbers): void {
  const { inner, numSegments } = plan;
  for (let j = 0; j < out.length; j++) out[j] = 0;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

function heapArray(backend: WasmBackend, t: tf.TensorInfo, size: number): Numbers {
  const buffer = backend.wasm.HEAPU8.buffer;
  return t.dtype === "float32"
    ? new Float32Array(buffer, heapOffset(backend, t), size)
    : new Int32Array(buffer, heapOffset(backend, t), size);
}

/** x: [...ids.shape, ...inner], segmentIds: int32 ids.shape -> [numSegments, ...inner] */
export function wasmUnsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs;
  const plan = planSegmentSum(x, segmentIds, Number(args.attrs?.numSegments));
  const out = backend.makeOutput(plan.outShape, x.dtype as "float32" | "int32");
  // Views only after the allocation above: growing the heap replaces its ArrayBuffer.
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  scatterAdd(
    heapArray(backend, x, tf.util.sizeFromShape(x.shape)),
    heapArray(backend, segmentIds, idCount),
    plan,
    heapArray(backend, out, tf.util.sizeFromShape(plan.outShape)),
  );
  return out;
}

/** Same contract as wasmUnsortedSegmentSum, on the pure-JS cpu backend. */
export function cpuUnsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const { x, segmentIds } = args.inputs;
  const plan = planSegmentSum(x, segmentIds, Number(args.attrs?.numSegments));
  const size = tf.util.sizeFromShape(plan.outShape);
  const values = x.dtype === "float32" ? new Float32Array(size) : new Int32Array(size);
  scatterAdd(backend.readSync(x.dataId), backend.readSync(segmentIds.dataId), plan, values);
  return backend.makeTensorInfo(plan.outShape, x.dtype as "float32" | "int32", values);
}
