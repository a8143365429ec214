// Fused kernels: one call where tfjs would issue dozens of small ops (lib/engine/fused/*). The course's layers
// (lib/nn/rnn.ts, lib/nn/conv.ts, LayerNorm in lib/nn/layers.ts) pick them when the active backend has them; the
// math is the same as the plain tfjs ops they replace, which test/rnn-fused.test.ts, test/conv.test.ts and
// test/layer-norm.test.ts check on every backend.
//
// NLU_FUSED=off (or withFusedKernels(false, fn)) runs the plain ops instead: to compare, or to rule them out.
export { FUSED_OP_NAMES, onNativeBackend, runNativeOp, Int64Scalar } from "./native";
export { BlockCellWeights, nativeLstmSequence, nativeLstmStep } from "./lstm_native";
export { fusedConv1d } from "./conv";
export { fusedLayerNorm } from "./layer_norm";
export { jsLstmRecurrence } from "./lstm_js";
export { jsGruRecurrence } from "./gru_js";
export { opsGruRecurrence } from "./gru_ops";
export { jsRecurrenceAvailable } from "./recurrence";

export const FUSED_ENV = "NLU_FUSED";

let override: boolean | null = null;

/** Whether the fused kernels may be used (NLU_FUSED=on|off, default on; withFusedKernels overrides). */
export function fusedKernelsEnabled(): boolean {
  if (override !== null) return override;
  const raw = (process.env[FUSED_ENV] ?? "").trim().toLowerCase();
  if (raw === "" || raw === "on" || raw === "1") return true;
  if (raw === "off" || raw === "0") return false;
  throw new Error(`${FUSED_ENV}="${process.env[FUSED_ENV]}" is not a switch: use on or off (unset means on).`);
}

/** Run `fn` with the fused kernels switched on or off (agreement tests and benchmarks compare the two). */
export function withFusedKernels<T>(enabled: boolean, fn: () => T): T {
  const before = override;
  override = enabled;
  try {
    return fn();
  } finally {
    override = before;
  }
}
