// Learning-rate schedules: a function from step (0-based) to learning rate.
//
// Transformers are usually trained with linear warm-up (large early updates on random weights are unstable)
// followed by linear decay to zero; RNNs and CNNs are happy with a constant rate.

export type Schedule =
  | { kind: "constant" }
  | { kind: "linear"; warmupSteps?: number; totalSteps?: number; finalFraction?: number };

export function learningRateAt(base: number, schedule: Schedule, step: number, totalSteps: number): number {
  switch (schedule.kind) {
    case "constant":
      return base;
    case "linear": {
      const warm = schedule.warmupSteps ?? 0;
      const total = schedule.totalSteps ?? totalSteps;
      const floor = schedule.finalFraction ?? 0;
      if (warm < 0 || !Number.isFinite(total) || total <= 0) {
        throw new Error(`linear schedule needs warmupSteps >= 0 and a finite totalSteps > 0 (got ${warm}, ${total}).`);
      }
      if (step < warm) return (base * (step + 1)) / warm;
      const frac = Math.min(1, (step - warm) / Math.max(1, total - warm));
      return base * (1 - (1 - floor) * frac);
    }
    default:
      throw new Error(`unknown schedule ${JSON.stringify(schedule)}: use {kind: "constant"} or {kind: "linear", warmupSteps}.`);
  }
}
