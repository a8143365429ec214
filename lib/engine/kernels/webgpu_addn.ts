// AddN on WebGPU, in chunks the device can bind. tfjs-backend-webgpu compiles tf.addN(xs) into ONE shader that
// binds every input as a storage buffer, and WebGPU caps storage buffers per shader stage
// (maxStorageBuffersPerShaderStage: 8 on many devices, 10 on some). The Trainer's gradient norm sums one term per
// parameter tensor (33 for a 2-layer transformer), so the stock kernel fails validation there ("The number of
// storage buffers (34) ... exceeds the maximum per-stage limit"). tfjs's own concat kernel splits its inputs the
// same way; addN does not. Sums are formed left to right in groups of (limit - 1) inputs, the output taking the
// last binding: the same float32 additions as one long sum, grouped differently.
import * as tf from "@tensorflow/tfjs";
import { KernelArgs, StockKernel } from "./wasm_heap";

interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): void;
}

/** AddN's kernels take their inputs as an array (KernelArgs types them as a map). */
const asInputs = (xs: tf.TensorInfo[]) => xs as unknown as Record<string, tf.TensorInfo>;

/** tf.addN for any number of inputs on WebGPU: the stock kernel on groups that fit the device's binding limit. */
export function webgpuAddN(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const backend = args.backend as WebGpuBackendLike;
  const maxInputs = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
  let terms = Object.values(args.inputs);
  const temporaries: tf.TensorInfo[] = [];
  while (terms.length > maxInputs) {
    const next: tf.TensorInfo[] = [];
    for (let i = 0; i < terms.length; i += maxInputs) {
      const group = terms.slice(i, i + maxInputs);
      if (group.length === 1) {
        next.push(group[0]);
        continue;
      }
      const sum = stock({ ...args, inputs: asInputs(group) }) as tf.TensorInfo;
      temporaries.push(sum);
      next.push(sum);
    }
    terms = next;
  }
  const result = stock({ ...args, inputs: asInputs(terms) }) as tf.TensorInfo;
  for (const t of temporaries) backend.disposeData(t.dataId);
  return result;
}
