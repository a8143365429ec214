// lib/engine: which tfjs backend runs the course, the kernels that make wasm/cpu train quickly, and the fused
// recurrent/convolution kernels (fused/) that every backend runs the RNNs and CNNs with.
//
//   import { useBestBackend, engineInfo } from "../lib/engine";
//   await useBestBackend();        // prints: [nlu] backend: wasm (SIMD) + nlu kernel pack [...] — ...
export {
  BACKEND_ENV,
  BACKEND_NAMES,
  KERNEL_PACK_ENV,
  TFJS_BACKEND,
  activateBackend,
  candidateOrder,
  engineInfo,
  formatBanner,
  loadBackendPackage,
  parseBackendRequest,
  parseKernelPackSwitch,
  useBackend,
  useBestBackend,
} from "./backend";
export type { BackendDeps, BackendName, BackendRequest, EngineInfo, LoadResult } from "./backend";
export { installKernelPack, installedKernelPack, kernelPackFor, removeKernelPack, stockKernel } from "./kernels";
export { traceMemory } from "./memory";
export { FUSED_ENV, fusedKernelsEnabled, withFusedKernels } from "./fused";
export type { MemoryTrace, MemoryTraceOptions } from "./memory";
