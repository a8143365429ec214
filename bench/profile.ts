// Where one training step's time goes, per kernel: `npm run bench -- --profile`.
//
// tf.profile records every kernel a step runs and times each (synchronously on the native, wasm and cpu
// backends). A fused op (lib/engine/fused, a tf.customGrad) appears under its own name, and its time INCLUDES
// the few small kernels it runs inside (they are listed too), so the column does not add up to the step.
// "outside kernels" is the step's wall time minus all kernel time: the JavaScript around the kernels (tape
// bookkeeping, the optimizer's loop, tensor creation).
import * as tf from "@tensorflow/tfjs";
import { FUSED_OP_NAMES } from "../lib/engine/fused";

export interface StepProfile {
  /** Per kernel name: calls and milliseconds in one step, slowest first. */
  kernels: { name: string; calls: number; ms: number }[];
  /** Wall time of the profiled step (profiling adds a little to it). */
  wallMs: number;
  /** Printable table. */
  table: string;
}

export async function profileStep(step: () => unknown, top = 14): Promise<StepProfile> {
  // Without this flag the profiler downloads every kernel's output to look for NaNs, which would dominate.
  const check = tf.env().getBool("CHECK_COMPUTATION_FOR_ERRORS");
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  const t0 = performance.now();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() => {
      step();
    });
  } finally {
    tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", check);
  }
  const wallMs = performance.now() - t0;
  const byName = new Map<string, { calls: number; ms: number }>();
  let fusedMs = 0;
  for (const k of info.kernels) {
    const ms = Number(await k.kernelTimeMs);
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += ms;
    byName.set(k.name, e);
    if (FUSED_OP_NAMES.has(k.name)) fusedMs += ms;
  }
  // The small kernels inside fused ops are counted twice here, so "outside kernels" is a lower bound.
  const plainMs = [...byName].filter(([n]) => !FUSED_OP_NAMES.has(n)).reduce((s, [, e]) => s + e.ms, 0);
  const kernels = [...byName].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  const outside = Math.max(0, wallMs - fusedMs - plainMs);
  const lines = kernels.slice(0, top).map((k) => `      ${k.name.padEnd(26)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(2).padStart(9)} ms`);
  const rest = kernels.slice(top);
  if (rest.length) lines.push(`      ${`(${rest.length} other kinds)`.padEnd(26)} ${String(rest.reduce((s, k) => s + k.calls, 0)).padStart(5)} calls ${rest.reduce((s, k) => s + k.ms, 0).toFixed(2).padStart(9)} ms`);
  lines.push(`      ${"outside kernels (JS)".padEnd(26)} ${"".padStart(11)} ${outside.toFixed(2).padStart(9)} ms   of ${wallMs.toFixed(1)} ms profiled, ${info.kernels.length} kernel calls`);
  return { kernels, wallMs, table: lines.join("\n") };
}
