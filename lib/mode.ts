// Quick and full mode: ONE switch that sizes data, models and steps.
//
// Notebooks and tests run the same code path in both modes; only the numbers differ. Quick mode is the
// default (tests, CI, a first read of a notebook); full mode is for teaching runs that reach the targets.
//
//   NLU_MODE=full ./course start      # every notebook sized for real results
//
// Usage in a notebook:  const steps = sized({ quick: 50, full: 5000 });

export type Mode = "quick" | "full";
export const MODES: readonly Mode[] = ["quick", "full"];

/** The active mode, read from NLU_MODE (default "quick"). Bad values throw, naming the valid ones. */
export function mode(env: NodeJS.ProcessEnv = process.env): Mode {
  const raw = (env.NLU_MODE ?? "").trim().toLowerCase();
  if (raw === "") return "quick";
  if ((MODES as readonly string[]).includes(raw)) return raw as Mode;
  throw new Error(`NLU_MODE="${env.NLU_MODE}" is not a mode: use one of ${MODES.join(", ")} (unset means quick).`);
}

export const isQuick = (): boolean => mode() === "quick";

/** Pick the value for the active mode: sized({ quick: 200, full: 60000 }). */
export function sized<T>(choices: { quick: T; full: T }): T {
  return choices[mode()];
}
