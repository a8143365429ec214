// The small slice of tfjs-backend-wasm's internals the kernel pack builds on.
//
// The wasm backend keeps every tensor in one WebAssembly heap and knows it by a numeric id that its C++ side
// maps to (size, offset). Two facts make fast kernels possible from TypeScript:
//  - the module exports every C++ kernel as `_Name` (e.g. `_BatchMatMul`), callable directly without the
//    per-call marshalling of `cwrap`;
//  - `_register_tensor(id, size, offset)` accepts ANY offset, so a slice of an existing tensor (one batch of a
//    batched matmul) can be handed to a C++ kernel as a zero-copy "view" and forgotten with `_dispose_data(id)`.
// This file names those pieces with types; the kernels in this folder use nothing else from the backend.
import * as tf from "@tensorflow/tfjs";

type DataId = object;
type Dtype = "float32" | "int32" | "bool" | "string" | "complex64";

/** The C exports of the tfjs-backend-wasm 4.22 module that the pack calls (pointers are heap byte offsets). */
export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _register_tensor(id: number, size: number, offset: number): void;
  _dispose_data(id: number): void;
  /** out = a·b for a: [batch, m, k], b: [batch, k, n]; XNNPACK only when batch is 1 and nothing is transposed. */
  _BatchMatMul(
    aId: number, aShapePtr: number, aRank: number,
    bId: number, bShapePtr: number, bRank: number,
    transposeA: number, transposeB: number, outId: number,
  ): void;
  /** out = σ(x), elementwise, through XNNPACK's vectorised sigmoid. */
  _Sigmoid(xId: number, outId: number): void;
}

/** tfjs-backend-wasm's BackendWasm, as far as the pack relies on it. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number; shape: number[]; dtype: Dtype } };
  makeOutput(shape: number[], dtype: Dtype, memoryOffset?: number): tf.TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/** tfjs-backend-cpu's MathBackendCPU, as far as the pack relies on it. */
export interface CpuBackend {
  readSync(dataId: DataId): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: Dtype, values?: ArrayLike<number>): tf.TensorInfo;
}

export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };

/** A kernel as registered before the pack replaced it, so replacements can fall back to it. */
export type StockKernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Numeric id the C++ side knows a tensor by. */
export function heapId(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).id;
}

/**
 * Zero-copy views for C++ kernels: `view(offset, size)` registers a window of the heap under a fresh id;
 * `release()` unregisters all of them (which also frees any XNNPACK operator cached on them). The ids come
 * from the backend's own counter, so they never collide with real tensors.
 */
export class HeapViews {
  private ids: number[] = [];
  constructor(private readonly backend: WasmBackend) {}
  view(byteOffset: number, size: number): number {
    const id = this.backend.dataIdNextNumber++;
    this.backend.wasm._register_tensor(id, size, byteOffset);
    this.ids.push(id);
    return id;
  }
  release(): void {
    for (const id of this.ids) this.backend.wasm._dispose_data(id);
    this.ids = [];
  }
}

/** Shape arrays for the C calls live in one small, lazily allocated heap block per backend instance. */
const shapeScratch = new WeakMap<WasmModule, number>();
export function writeShapes(wasm: WasmModule, values: number[]): number {
  let ptr = shapeScratch.get(wasm);
  if (ptr === undefined) {
    ptr = wasm._malloc(64);
    shapeScratch.set(wasm, ptr);
  }
  if (values.length > 16) throw new Error(`writeShapes: at most 16 numbers, got ${values.length}.`);
  wasm.HEAP32.set(values, ptr >> 2);
  return ptr;
}
