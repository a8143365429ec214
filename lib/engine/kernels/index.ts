// The nlu kernel pack: tf.registerKernel replacements that let the wasm and cpu backends train quickly (and
// two that take per-call overhead out of native TensorFlow's).
//
//   installKernelPack("wasm")  -> ["UnsortedSegmentSum", "BatchMatMul", ...]   (what it replaced or added)
//   removeKernelPack("wasm")   -> the stock kernels again (benchmarks compare the two)
//
// useBestBackend() installs it on every backend (NLU_KERNEL_PACK=off skips it). What each entry fixes is in its
// `why` below; the files: segment_sum.ts (embedding gradients), matmul.ts (XNNPACK for every product on wasm),
// conv.ts (im2col convolution), compare.ts (broadcast comparisons), activation.ts (tanh), layout.ts
// (transpose/gather/sum/unstack/stack as row copies), gemm.ts (the cpu product), native.ts (tfjs-node's Reshape
// and Step), webgpu_addn.ts (AddN within the binding limit). Every kernel is checked against tfjs's stock kernel in
// test/engine-kernels.test.ts. To add one: a kernelFunc(args, stock) in this folder, an entry in PACK, an
// agreement test.
//
// Each replacement keeps the kernel it displaced on its own config object (`nluStock`), not in a variable of
// this module: the kernel registry is global to the process, while this module can be loaded twice (a
// notebook re-importing lib/), and a replacement must never mistake another copy of itself for the stock one.
// The stock kernel also stays reachable for the cases a replacement hands back (dtypes, tiny products).
import * as tf from "@tensorflow/tfjs";
import {
  cpuConv2D,
  cpuConv2DBackpropFilter,
  cpuConv2DBackpropInput,
  wasmConv2DBackpropFilter,
  wasmConv2DBackpropInput,
} from "./conv";
import { cpuBatchMatMul } from "./gemm";
import { wasmGatherV2, wasmPack, wasmSum, wasmTranspose, wasmUnpack } from "./layout";
import { MatMulStock, wasmBatchMatMul } from "./matmul";
import { cpuUnsortedSegmentSum, wasmUnsortedSegmentSum } from "./segment_sum";
import { KernelArgs, StockKernel } from "./wasm_heap";
import { webgpuAddN } from "./webgpu_addn";
import { nativeReshape, nativeStep } from "./native";
import { COMPARISONS, wasmCompare } from "./compare";
import { wasmTanh } from "./activation";

export type PackBackend = "wasm" | "cpu" | "webgpu" | "tensorflow";

interface PackKernel {
  kernelName: string;
  backendName: PackBackend;
  /** What is wrong with the stock kernel and what the replacement does instead. */
  why: string;
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
}

type PackedConfig = tf.KernelConfig & { nluStock?: tf.KernelConfig | null };

/** The stock kernel `name` on `backend`, looking through a pack replacement if one is installed. */
export function stockKernel(kernelName: string, backendName: string): StockKernel {
  const config = tf.getKernel(kernelName, backendName) as PackedConfig | undefined;
  const stock = config && "nluStock" in config ? config.nluStock : config;
  if (!stock) throw new Error(`The ${backendName} backend has no stock '${kernelName}' kernel.`);
  return stock.kernelFunc as unknown as StockKernel;
}

/** What the matmul-based kernels build on: the stock product (for its fast case) and the pack's transpose. */
function wasmStock(): MatMulStock {
  const transpose = stockKernel("Transpose", "wasm");
  return {
    batchMatMul: stockKernel("BatchMatMul", "wasm"),
    transpose: (args) => wasmTranspose(args, transpose),
  };
}

const PACK: PackKernel[] = [
  {
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    why: "missing on wasm: the gradient of gather (embeddings)",
    kernelFunc: (args) => wasmUnsortedSegmentSum(args),
  },
  {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    why: "stock uses XNNPACK only for batch 1 without transposes; backward passes and attention took a scalar loop",
    kernelFunc: (args) => wasmBatchMatMul(args, wasmStock()),
  },
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    why: "missing on wasm: the filter gradient of conv1d/conv2d (im2col + matmul)",
    kernelFunc: (args) => wasmConv2DBackpropFilter(args, wasmStock()),
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    why: "stock is a scalar loop; im2col + matmul + col2im",
    kernelFunc: (args) => wasmConv2DBackpropInput(args, wasmStock(), stockKernel("Conv2DBackpropInput", "wasm")),
  },
  {
    kernelName: "Transpose",
    backendName: "wasm",
    why: "stock walks 5-D (head split) and large 2-D transposes element by element; row copies / 8x8 blocks",
    kernelFunc: (args) => wasmTranspose(args, stockKernel("Transpose", "wasm")),
  },
  {
    kernelName: "GatherV2",
    backendName: "wasm",
    why: "embedding lookup as one row copy per id",
    kernelFunc: (args) => wasmGatherV2(args, stockKernel("GatherV2", "wasm")),
  },
  {
    kernelName: "Sum",
    backendName: "wasm",
    why: "bias gradients (sum over the batch) transposed the whole input first; rows added in place",
    kernelFunc: (args) => wasmSum(args, stockKernel("Sum", "wasm")),
  },
  {
    kernelName: "Unpack",
    backendName: "wasm",
    why: "tf.unstack (q/k/v, RNN time steps) ran one generic Slice per piece; run copies instead",
    kernelFunc: (args) => wasmUnpack(args, stockKernel("Unpack", "wasm")),
  },
  {
    kernelName: "Pack",
    backendName: "wasm",
    why: "tf.stack (the gradient of unstack) ran one Concat of reshaped pieces; run copies instead",
    kernelFunc: (args) => wasmPack(args, stockKernel("Pack", "wasm")),
  },
  {
    kernelName: "Tanh",
    backendName: "wasm",
    why: "stock calls scalar tanhf (~6 ms per GELU of a [32, 16, 512] activation); 2·sigmoid(2x) − 1 through XNNPACK",
    kernelFunc: (args) => wasmTanh(args, stockKernel("Tanh", "wasm")),
  },
  ...COMPARISONS.map((op): PackKernel => ({
    kernelName: op,
    backendName: "wasm",
    why: "a broadcast operand took a per-element index computation (~12 ms for max-pool's gradient, x == max); strided loops",
    kernelFunc: (args) => wasmCompare(op, args, stockKernel(op, "wasm")),
  })),
  {
    kernelName: "UnsortedSegmentSum",
    backendName: "cpu",
    why: "stock builds one mask per segment (seconds per step at vocab 2000); one scatter-add pass instead",
    kernelFunc: (args) => cpuUnsortedSegmentSum(args),
  },
  {
    kernelName: "BatchMatMul",
    backendName: "cpu",
    why: "stock does a strided dot product per output (~0.5 GFLOP/s); row-major 4-row GEMM, numpy broadcasting",
    kernelFunc: (args) => cpuBatchMatMul(args, stockKernel("BatchMatMul", "cpu")),
  },
  {
    kernelName: "Conv2D",
    backendName: "cpu",
    why: "stock loops with index arithmetic per multiply-add; im2col + GEMM",
    kernelFunc: (args) => cpuConv2D(args, stockKernel("Conv2D", "cpu")),
  },
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: "cpu",
    why: "stock takes seconds per conv1d step; im2col + GEMM",
    kernelFunc: (args) => cpuConv2DBackpropFilter(args, stockKernel("Conv2DBackpropFilter", "cpu")),
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: "cpu",
    why: "stock takes seconds per conv1d step; GEMM + col2im",
    kernelFunc: (args) => cpuConv2DBackpropInput(args, stockKernel("Conv2DBackpropInput", "cpu")),
  },
  {
    kernelName: "AddN",
    backendName: "webgpu",
    why: "stock binds every input in one shader and fails past the device's storage-buffer limit (the gradient norm sums 33); sum in groups",
    kernelFunc: (args) => webgpuAddN(args, stockKernel("AddN", "webgpu")),
  },
  {
    kernelName: "Reshape",
    backendName: "tensorflow",
    why: "stock makes the shape a tfjs tensor on every call (~60 µs); made in TensorFlow directly (~12 µs)",
    kernelFunc: (args) => nativeReshape(args, stockKernel("Reshape", "tensorflow")),
  },
  {
    kernelName: "Step",
    backendName: "tensorflow",
    why: "ReLU's gradient: stock runs six ops with two full-size allocations (~0.9 ms at [32, 32, 128]); four TensorFlow ops on the binding",
    kernelFunc: (args) => nativeStep(args, stockKernel("Step", "tensorflow")),
  },
];

/** Kernels the pack replaces (or adds) on a backend, whether or not installed yet. */
export function kernelPackFor(backendName: string): { kernelName: string; why: string }[] {
  return PACK.filter((k) => k.backendName === backendName).map(({ kernelName, why }) => ({ kernelName, why }));
}

/** Names of the pack's kernels currently registered for `backendName`. */
export function installedKernelPack(backendName: string): string[] {
  return PACK.filter((k) => k.backendName === backendName)
    .filter((k) => {
      const config = tf.getKernel(k.kernelName, backendName) as PackedConfig | undefined;
      return config !== undefined && "nluStock" in config;
    })
    .map((k) => k.kernelName);
}

/**
 * Register the pack's kernels for `backendName` (idempotent). Returns the replaced/added kernel names; an
 * empty list for backends the pack does not cover. `only` installs a subset
 * (benchmarks: "stock + just the missing kernels").
 */
export function installKernelPack(backendName: string, opts: { only?: string[] } = {}): string[] {
  const names: string[] = [];
  const known = PACK.filter((entry) => entry.backendName === backendName).map((entry) => entry.kernelName);
  const unknown = (opts.only ?? []).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(`installKernelPack: no pack kernel ${unknown.join(", ")} for ${backendName}; have ${known.join(", ")}.`);
  }
  removeKernelPack(backendName);
  const wanted = PACK.filter((entry) => entry.backendName === backendName && (!opts.only || opts.only.includes(entry.kernelName)));
  for (const k of wanted) {
    const current = tf.getKernel(k.kernelName, backendName) as PackedConfig | undefined;
    const stock = current && "nluStock" in current ? current.nluStock ?? null : current ?? null;
    // registerKernel warns on an existing name: take the old one out first.
    if (current) tf.unregisterKernel(k.kernelName, backendName);
    const config: PackedConfig = {
      kernelName: k.kernelName,
      backendName,
      kernelFunc: k.kernelFunc as unknown as tf.KernelFunc,
      // Kernels' setup runs on every setBackend; keep the stock one's (it binds its C function) alive.
      setupFunc: stock?.setupFunc,
      disposeFunc: stock?.disposeFunc,
      nluStock: stock,
    };
    tf.registerKernel(config);
    names.push(k.kernelName);
  }
  return names;
}

/** Put the stock kernels back (or remove the ones the backend never had). */
export function removeKernelPack(backendName: string): void {
  for (const k of PACK.filter((entry) => entry.backendName === backendName)) {
    const current = tf.getKernel(k.kernelName, backendName) as PackedConfig | undefined;
    if (!current || !("nluStock" in current)) continue;
    tf.unregisterKernel(k.kernelName, backendName);
    if (current.nluStock) tf.registerKernel(current.nluStock);
  }
}
