// Backend selection: the override variable, the fallback order, and failures that tfjs reports quietly.
// The decision runs on injected loaders, so missing/broken tfjs-node packages are simulated, not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  BACKEND_NAMES,
  BackendDeps,
  BackendName,
  LoadResult,
  activateBackend,
  candidateOrder,
  engineInfo,
  installKernelPack,
  loadBackendPackage,
  parseBackendRequest,
  parseKernelPackSwitch,
  removeKernelPack,
  useBestBackend,
} from "../lib/engine";

/** Fake world: which packages load, what setBackend answers; records the calls made. */
function fakeDeps(opts: {
  env?: Record<string, string>;
  loads?: Partial<Record<BackendName, LoadResult>>;
  setBackend?: (name: string) => boolean;
}) {
  const calls: string[] = [];
  const deps: BackendDeps = {
    env: opts.env ?? {},
    load: async (name) => {
      calls.push(`load ${name}`);
      return opts.loads?.[name] ?? { ok: true, note: "" };
    },
    setBackend: async (name) => {
      calls.push(`setBackend ${name}`);
      return opts.setBackend ? opts.setBackend(name) : true;
    },
    installPack: (name) => {
      calls.push(`installPack ${name}`);
      return name === "wasm" ? ["UnsortedSegmentSum", "BatchMatMul"] : [];
    },
    removePack: (name) => {
      calls.push(`removePack ${name}`);
    },
  };
  return { deps, calls };
}

const notInstalled = (pkg: string): LoadResult => ({ ok: false, note: `${pkg} not installed`, absent: true });
const NO_NODE = {
  "node-gpu": notInstalled("@tensorflow/tfjs-node-gpu"),
  webgpu: { ok: false, note: "no WebGPU adapter (needs a GPU with a Vulkan, Metal or D3D12 driver)", absent: true },
  node: notInstalled("@tensorflow/tfjs-node"),
};

test("NLU_BACKEND parsing: auto by default, names case-insensitive, unknown names listed in the error", () => {
  assert.equal(parseBackendRequest(undefined), "auto");
  assert.equal(parseBackendRequest(""), "auto");
  assert.equal(parseBackendRequest(" Auto "), "auto");
  assert.equal(parseBackendRequest("WASM"), "wasm");
  assert.equal(parseBackendRequest("node-gpu"), "node-gpu");
  assert.throws(
    () => parseBackendRequest("tensorflow"),
    /NLU_BACKEND="tensorflow" is not a backend: use one of auto, node-gpu, node, webgpu, wasm, cpu/,
  );
  assert.deepEqual(candidateOrder("auto"), ["node-gpu", "node", "webgpu", "wasm", "cpu"]);
  assert.deepEqual(candidateOrder("cpu"), ["cpu"]);
  assert.equal(parseKernelPackSwitch(undefined), true);
  assert.equal(parseKernelPackSwitch("OFF"), false);
  assert.throws(() => parseKernelPackSwitch("maybe"), /NLU_KERNEL_PACK="maybe" is not a switch: use on or off/);
});

test("auto: the first backend that loads and activates wins, in the order node-gpu, node, webgpu, wasm, cpu", async () => {
  const all = fakeDeps({});
  assert.equal((await activateBackend(all.deps)).backend, "node-gpu");
  assert.deepEqual(all.calls, ["load node-gpu", "setBackend tensorflow", "installPack tensorflow"]);

  const gpuMissing = fakeDeps({ loads: { "node-gpu": NO_NODE["node-gpu"] } });
  const node = await activateBackend(gpuMissing.deps);
  assert.equal(node.backend, "node");
  assert.match(node.reason, /node-gpu: @tensorflow\/tfjs-node-gpu not installed/);
  assert.deepEqual(gpuMissing.calls.slice(0, 2), ["load node-gpu", "load node"], "native TensorFlow before WebGPU (measured faster)");
  // No GPU build is normal, not a fault: the banner says what runs and how to get faster, nothing about node-gpu.
  assert.equal(
    node.banner,
    "[nlu] backend: node — native TensorFlow on the CPU. Faster: an NVIDIA GPU with tfjs-node-gpu (`./course setup` builds it when it finds an NVIDIA driver).",
  );

  // No native TensorFlow (macOS, Windows, ARM) but a GPU adapter: WebGPU before wasm, and the banner names the GPU.
  const webgpu = fakeDeps({ loads: { ...NO_NODE, webgpu: { ok: true, note: "apple metal-3 (Apple M2)" } } });
  const wg = await activateBackend(webgpu.deps);
  assert.equal(wg.backend, "webgpu");
  assert.equal(wg.tfjsBackend, "webgpu");
  assert.deepEqual(webgpu.calls, ["load node-gpu", "load node", "load webgpu", "setBackend webgpu", "installPack webgpu"]);
  assert.match(wg.banner, /^\[nlu\] backend: webgpu \(apple metal-3 \(Apple M2\)\) — WebGPU \(Dawn\) on the GPU\. Faster: native TensorFlow/);
  assert.match(wg.reason, /node: @tensorflow\/tfjs-node not installed/);

  const wasm = fakeDeps({ loads: { ...NO_NODE, wasm: { ok: true, note: "SIMD" } } });
  const info = await activateBackend(wasm.deps);
  assert.equal(info.backend, "wasm");
  assert.equal(info.tfjsBackend, "wasm");
  assert.deepEqual(info.kernelPack, ["UnsortedSegmentSum", "BatchMatMul"]);
  assert.deepEqual(wasm.calls, ["load node-gpu", "load node", "load webgpu", "load wasm", "setBackend wasm", "installPack wasm"]);
  assert.equal(info.banner.split("\n").length, 1);
  assert.match(
    info.banner,
    /^\[nlu\] backend: wasm \(SIMD\) \+ nlu kernel pack \[UnsortedSegmentSum, BatchMatMul\] — WebAssembly on the CPU\. Faster: native TensorFlow \(tfjs-node\), which `\.\/course setup` builds/,
  );

  const onlyCpu = fakeDeps({ loads: { ...NO_NODE, wasm: { ok: false, note: "setWasmPaths failed (x)" } } });
  const cpu = await activateBackend(onlyCpu.deps);
  assert.equal(cpu.backend, "cpu");
  assert.match(cpu.reason, /wasm: setWasmPaths failed \(x\)/);
});

test("a failed setBackend (false or thrown) is detected and the next candidate is tried", async () => {
  // tfjs returns false from setBackend when a backend's init fails, while tf.getBackend() may already
  // report the failed name; only the boolean is trusted.
  const broken = fakeDeps({ loads: { webgpu: NO_NODE.webgpu }, setBackend: (name) => name !== "tensorflow" });
  const info = await activateBackend(broken.deps);
  assert.equal(info.backend, "wasm");
  assert.match(info.reason, /node-gpu: tf\.setBackend\("tensorflow"\) returned false; node: tf\.setBackend\("tensorflow"\) returned false; webgpu: no WebGPU adapter/);
  // A backend that is installed but fails IS worth a word in the banner.
  assert.match(info.banner, /— WebAssembly on the CPU \(node-gpu failed: tf\.setBackend\("tensorflow"\) returned false; node failed: .*\)\. Faster:/);

  const throwing = fakeDeps({
    loads: NO_NODE,
    setBackend: (name) => {
      if (name === "wasm") throw new Error("wasm init aborted\nstack...");
      return true;
    },
  });
  const cpu = await activateBackend(throwing.deps);
  assert.equal(cpu.backend, "cpu");
  assert.match(cpu.reason, /wasm: tf\.setBackend\("wasm"\) threw: wasm init aborted$/);
});

test("with the real tfjs engine: a backend whose init fails leaves getBackend() lying; we still move on", async () => {
  tf.registerBackend("tensorflow", () => {
    throw new Error("simulated: tfjs_binding.node missing");
  });
  try {
    const deps: BackendDeps = {
      env: {},
      // Pretend tfjs-node's package loaded (it is not installed here); its backend init then fails.
      load: async (name) => (name === "node" ? { ok: true, note: "" } : loadBackendPackage(name)),
      setBackend: async (name) => {
        const ok = await tf.setBackend(name);
        if (!ok) assert.equal(tf.getBackend(), name, "tfjs reports the failed backend as current");
        return ok;
      },
      installPack: installKernelPack,
      removePack: removeKernelPack,
    };
    const info = await activateBackend(deps);
    assert.notEqual(info.backend, "node");
    assert.match(info.reason, /node: tf\.setBackend\("tensorflow"\) returned false/);
    assert.equal(tf.getBackend(), info.tfjsBackend);
  } finally {
    tf.removeBackend("tensorflow");
  }
});

test("an explicit NLU_BACKEND is used alone: no fallback, a clear error when it cannot load", async () => {
  const cpu = fakeDeps({ env: { NLU_BACKEND: "cpu" } });
  const info = await activateBackend(cpu.deps);
  assert.equal(info.backend, "cpu");
  assert.equal(info.reason, "NLU_BACKEND=cpu");
  // Chosen by name: the faster way is to let auto choose, not a build step that may already be done.
  assert.match(info.banner, /\(NLU_BACKEND=cpu\)\. Faster: unset NLU_BACKEND: auto picks the fastest backend that loads\.$/);
  assert.deepEqual(cpu.calls, ["load cpu", "setBackend cpu", "installPack cpu"]);

  const node = fakeDeps({ env: { NLU_BACKEND: "node" }, loads: NO_NODE });
  await assert.rejects(
    activateBackend(node.deps),
    /NLU_BACKEND=node but @tensorflow\/tfjs-node could not be used: @tensorflow\/tfjs-node not installed\. Install it \(npm i @tensorflow\/tfjs-node\) and run `\.\/course setup`, which builds its binding, or unset NLU_BACKEND/,
  );
  assert.deepEqual(node.calls, ["load node"]);

  const bad = fakeDeps({ env: { NLU_BACKEND: "gpu" } });
  await assert.rejects(activateBackend(bad.deps), /NLU_BACKEND="gpu" is not a backend: use one of auto, node-gpu, node, webgpu, wasm, cpu/);
  assert.deepEqual(bad.calls, []);
});

test("NLU_KERNEL_PACK=off removes the pack and says so", async () => {
  const off = fakeDeps({ env: { NLU_KERNEL_PACK: "off" }, loads: NO_NODE });
  const info = await activateBackend(off.deps);
  assert.deepEqual(info.kernelPack, []);
  assert.ok(off.calls.includes("removePack wasm"));
  assert.match(info.reason, /\(NLU_KERNEL_PACK=off\)$/);
  assert.doesNotMatch(info.banner, /kernel pack \[/);
});

test("all candidates failing is an error naming each reason", async () => {
  const none = fakeDeps({ setBackend: () => false });
  await assert.rejects(activateBackend(none.deps), /No tfjs backend could be activated \(node-gpu: .*; cpu: tf\.setBackend\("cpu"\) returned false\)/);
});

test("the real loaders: tfjs-node absent or broken is reported, wasm and cpu load here", async () => {
  for (const name of ["node-gpu", "node"] as const) {
    const r = await loadBackendPackage(name);
    if (!r.ok) assert.match(r.note, /not installed|failed to load|another copy|native binding is not built/);
  }
  assert.deepEqual(await loadBackendPackage("cpu"), { ok: true, note: "" });
  const wasm = await loadBackendPackage("wasm");
  assert.equal(wasm.ok, true);
  assert.equal(wasm.note, "SIMD"); // Node 20 has wasm SIMD
});

test("useBestBackend: one cached activation, one banner line, engineInfo agrees", async () => {
  const saved = { backend: process.env.NLU_BACKEND, pack: process.env.NLU_KERNEL_PACK };
  delete process.env.NLU_BACKEND;
  delete process.env.NLU_KERNEL_PACK;
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.join(" "));
  try {
    const first = useBestBackend();
    const second = useBestBackend();
    assert.equal(first, second, "the same promise");
    const info = await first;
    await useBestBackend();
    assert.equal(printed.length, 1, `one banner, got ${JSON.stringify(printed)}`);
    assert.equal(printed[0], info.banner);
    assert.deepEqual(engineInfo(), info);
    // A cell ending in `await useBestBackend();` must not echo the whole object under the banner: the value is
    // marked as already shown (the course's tslab patch skips such values); engineInfo() is not marked.
    assert.equal((info as unknown as Record<symbol, unknown>)[Symbol.for("nlu-course.displayed")], true);
    assert.equal((engineInfo() as unknown as Record<symbol, unknown>)[Symbol.for("nlu-course.displayed")], undefined);
    assert.ok((BACKEND_NAMES as readonly string[]).includes(info.backend));
    assert.equal(tf.getBackend(), info.tfjsBackend);
    if (info.backend === "wasm") {
      assert.ok(info.kernelPack.includes("UnsortedSegmentSum"));
      assert.match(info.banner, /^\[nlu\] backend: wasm \(SIMD\) \+ nlu kernel pack \[/);
    }
  } finally {
    console.log = log;
    if (saved.backend !== undefined) process.env.NLU_BACKEND = saved.backend;
    if (saved.pack !== undefined) process.env.NLU_KERNEL_PACK = saved.pack;
  }
});
