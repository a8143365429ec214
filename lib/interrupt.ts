// Interrupt: ONE cancellation signal for every long loop in the course.
//
// JavaScript cannot stop a running function from outside. When the student presses Jupyter's stop button, the
// kernel (the course's patched tslab) calls `requestInterrupt()`; every long loop in lib/ (the Trainer, ELECTRA
// pre-training, decoding, sweeps) checks `interruptRequested()` between steps and stops cleanly, keeping what it
// has done so far (as cs224u's `fit` keeps its weights on KeyboardInterrupt). The kernel clears the flag when the
// next cell starts.
//
// The flag lives on `globalThis` under a registered Symbol, so the kernel sets it without importing lib/ and two
// copies of this module (the kernel compiles each notebook's imports itself) still see one flag.

const KEY = Symbol.for("nlu-course.interrupt");

interface InterruptState {
  requested: boolean;
  /** Date.now() when the interrupt was requested (for "stopped N ms after the button"). */
  at: number;
}

function state(): InterruptState {
  const g = globalThis as unknown as Record<symbol, InterruptState | undefined>;
  return (g[KEY] ??= { requested: false, at: 0 });
}

/** Thrown by `throwIfInterrupted`: the work stopped because the student (or a test) asked it to. */
export class InterruptedError extends Error {
  constructor(what = "the cell") {
    super(`${what} was interrupted (the stop button, or requestInterrupt()).`);
    this.name = "InterruptedError";
  }
}

/** True once an interrupt has been requested and not yet cleared. Cheap: check it every step. */
export function interruptRequested(): boolean {
  return state().requested;
}

/** Ask every running loop to stop at its next check. The kernel calls this on Jupyter's interrupt. */
export function requestInterrupt(): void {
  const s = state();
  s.requested = true;
  s.at = Date.now();
}

/** Forget a pending interrupt. The kernel calls this when a new cell starts; loops never call it. */
export function clearInterrupt(): void {
  state().requested = false;
}

/** For loops without a clean partial result (a sweep's bookkeeping, decoding): throw `InterruptedError`. */
export function throwIfInterrupted(what?: string): void {
  if (state().requested) throw new InterruptedError(what);
}
