// Running a test on every backend this machine has: native TensorFlow (when its binding is built), wasm, cpu.
import { loadBackendPackage, useBackend, BackendName } from "../../lib/engine";

export const TEST_BACKENDS: readonly BackendName[] = ["node", "wasm", "cpu"];

/** Switch to `backend` (with the kernel pack), or return why it cannot run here (then the test skips). */
export async function switchTo(backend: BackendName): Promise<string | null> {
  if (backend === "node" || backend === "node-gpu") {
    const native = await loadBackendPackage(backend);
    if (!native.ok) return `native TensorFlow not available here: ${native.note}`;
  }
  await useBackend(backend);
  return null;
}
