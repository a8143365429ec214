// The WebGPU path (lib/engine/webgpu.ts): naming the adapter, telling software adapters from GPUs, Dawn's
// toggles, and the real loader run against Dawn's null backend (an adapter with no GPU behind it: numbers are
// junk, but the whole chain — ES-module import, navigator.gpu, tfjs-backend-webgpu's registration — is real).
// On a machine with a GPU, scripts/gpu-check.sh trains on it and compares losses with the CPU.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendDeps, activateBackend, installKernelPack, loadBackendPackage, removeKernelPack } from "../lib/engine";
import { describeAdapter, isSoftwareAdapter, loadWebGpu, parseDawnOptions } from "../lib/engine/webgpu";
import { webgpuAddN } from "../lib/engine/kernels/webgpu_addn";
import { StockKernel } from "../lib/engine/kernels/wasm_heap";
import { Rng } from "../lib/random";
import { referenceModel } from "../lib/models/reference";
import { Trainer } from "../lib/train/trainer";

test("describeAdapter names the GPU from what the adapter says", () => {
  assert.equal(describeAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" }), "nvidia hopper (NVIDIA H200)");
  assert.equal(describeAdapter({ vendor: "apple", architecture: "", description: "" }), "apple");
  assert.equal(describeAdapter({ description: "Intel(R) Arc(tm) A770 Graphics (DG2)" }), "Intel(R) Arc(tm) A770 Graphics (DG2)");
  assert.equal(describeAdapter({}), "unnamed adapter");
});

test("software adapters (CPU rasterisers, Dawn's null backend) are told from GPUs", () => {
  assert.equal(isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" }), false);
  assert.equal(isSoftwareAdapter({ vendor: "amd", architecture: "rdna-3", description: "AMD Radeon RX 7900 XT" }), false);
  assert.equal(isSoftwareAdapter({ vendor: "google", description: "SwiftShader Device (Subzero)" }), true);
  assert.equal(isSoftwareAdapter({ vendor: "mesa", description: "llvmpipe (LLVM 15.0.6, 256 bits)" }), true);
  assert.equal(isSoftwareAdapter({ vendor: "intel", description: "Intel UHD", isFallbackAdapter: true }), true);
  assert.equal(isSoftwareAdapter({}), true);
});

test("NLU_DAWN_OPTIONS: key=value toggles, anything else is an error naming the fix", () => {
  assert.deepEqual(parseDawnOptions(undefined), []);
  assert.deepEqual(parseDawnOptions(" backend=vulkan , adapter=NVIDIA"), ["backend=vulkan", "adapter=NVIDIA"]);
  assert.throws(() => parseDawnOptions("vulkan"), /NLU_DAWN_OPTIONS="vulkan": "vulkan" is not a Dawn toggle: use key=value pairs separated by commas, e.g\. backend=vulkan\./);
});

test("real loader, Dawn's null backend: auto skips a software adapter, NLU_BACKEND=webgpu takes it and tfjs runs on it", async () => {
  const env = { NLU_DAWN_OPTIONS: "backend=null" };
  const auto = await loadWebGpu({ explicit: false, env });
  assert.equal(auto.ok, false);
  assert.equal(auto.absent, true);
  assert.match(auto.note, /^only a software WebGPU adapter \(unnamed adapter\), slower than the CPU backends$/);

  const saved = process.env.NLU_DAWN_OPTIONS;
  process.env.NLU_DAWN_OPTIONS = "backend=null";
  try {
    const deps: BackendDeps = {
      env: { NLU_BACKEND: "webgpu" },
      load: loadBackendPackage,
      setBackend: (n) => tf.setBackend(n),
      installPack: installKernelPack,
      removePack: removeKernelPack,
    };
    const info = await activateBackend(deps);
    assert.equal(info.backend, "webgpu");
    assert.equal(tf.getBackend(), "webgpu");
    assert.match(info.banner, /^\[nlu\] backend: webgpu \(unnamed adapter: a software adapter, slow\) \+ nlu kernel pack \[AddN\] — WebGPU \(Dawn\) on the GPU \(NLU_BACKEND=webgpu\)\. Faster: unset NLU_BACKEND: auto picks the fastest backend that loads\.$/);
    // Shapes and bookkeeping are real even though the null device computes nothing.
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([4, 5])));
    assert.deepEqual(y.shape, [3, 5]);
    assert.equal((await y.data()).length, 15);
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
    // Synchronous reads (Node has no OffscreenCanvas, tfjs-backend-webgpu's way): right after an await of a WebGPU
    // promise (inside Dawn's tick, where a naive wait deadlocks) and in a training step. Values are junk here.
    const z = tf.matMul(tf.ones([2, 2]), tf.ones([2, 2]));
    await z.data();
    const again = tf.add(z, 1);
    assert.equal(again.dataSync().length, 4);
    tf.dispose([z, again]);
    const ref = referenceModel("transformer-mlm", 0);
    const trainer = new Trainer(ref.model, { progress: false, plot: false });
    const batch = ref.batch(4, 1) as never[];
    trainer.trainBatch(batch); // optimizer state is created on the first step
    const steady = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) assert.equal(typeof trainer.trainBatch(batch).loss, "number");
    assert.equal(tf.memory().numTensors, steady, "no tensors left by a WebGPU training step");
    trainer.dispose();
    ref.model.dispose();
  } finally {
    if (saved === undefined) delete process.env.NLU_DAWN_OPTIONS;
    else process.env.NLU_DAWN_OPTIONS = saved;
  }
});

test("NLU_BACKEND=webgpu on a machine without an adapter: an error naming what WebGPU needs", async () => {
  const deps: BackendDeps = {
    env: { NLU_BACKEND: "webgpu" },
    load: async () => ({ ok: false, note: "no WebGPU adapter (needs a GPU with a Vulkan, Metal or D3D12 driver)", absent: true }),
    setBackend: async () => true,
    installPack: () => [],
    removePack: () => undefined,
  };
  await assert.rejects(
    activateBackend(deps),
    /^Error: NLU_BACKEND=webgpu but @tensorflow\/tfjs-backend-webgpu could not be used: no WebGPU adapter \(needs a GPU with a Vulkan, Metal or D3D12 driver\)\. Check the GPU's driver \(on Linux `vulkaninfo --summary` must list the GPU; macOS uses Metal, Windows D3D12\), or unset NLU_BACKEND to pick the fastest that loads\.$/,
  );
});

test("AddN on WebGPU: any number of inputs summed in groups the device can bind, temporaries freed", async () => {
  // Run the chunking with the cpu backend's stock AddN as "the device's" kernel and a binding limit of 4.
  await tf.setBackend("cpu");
  const backend = tf.backend() as unknown as { device?: unknown; disposeData(id: object): void; numDataIds(): number };
  const stockCpu = tf.getKernel("AddN", "cpu")!.kernelFunc as unknown as StockKernel;
  const calls: number[] = [];
  const stock: StockKernel = (args) => {
    calls.push(Object.values(args.inputs).length);
    return stockCpu(args);
  };
  backend.device = { limits: { maxStorageBuffersPerShaderStage: 4 } };
  try {
    const rng = new Rng(3);
    const xs = Array.from({ length: 33 }, () => tf.tensor2d(Array.from({ length: 6 }, () => rng.next() * 2 - 1), [2, 3]));
    const idsBefore = backend.numDataIds();
    const out = webgpuAddN({ inputs: xs as unknown as Record<string, tf.TensorInfo>, backend }, stock);
    // 33 -> 11 groups of 3 -> 4 groups (3,3,3,2) -> 2 groups (3,1) -> one sum of 2; never more than limit - 1 = 3 inputs.
    assert.ok(calls.every((n) => n <= 3 && n >= 2), `group sizes ${calls}`);
    assert.equal(backend.numDataIds(), idsBefore + 1, "only the result is left");
    const got = tf.engine().makeTensorFromTensorInfo(out);
    const want = tf.addN(xs);
    const diff = Math.max(...(await tf.abs(tf.sub(got, want)).data()));
    assert.ok(diff < 1e-5, `max difference ${diff}`);
    const few = webgpuAddN({ inputs: xs.slice(0, 3) as unknown as Record<string, tf.TensorInfo>, backend }, stock);
    assert.deepEqual(calls.slice(-1), [3], "inputs within the limit: one stock call");
    backend.disposeData(few.dataId);
  } finally {
    delete backend.device;
  }
});
