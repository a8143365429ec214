// Memory flatness of a training loop: the first thing to check when a long run slows down or dies.
//
// tfjs frees a tensor only when it is disposed (tf.tidy, tf.dispose); a step that forgets one leaks it on
// every step. After a warm-up (Adam creates its moment variables on the first step), the number of live
// tensors, their bytes, and the backend's data buffers must stay exactly constant from step to step.
//
//   const trace = traceMemory(() => trainStep(), { steps: 50 });
//   trace.flat  // true when nothing grows; trace.numTensors etc. hold the per-step counts
import * as tf from "@tensorflow/tfjs";

export interface MemoryTraceOptions {
  /** Steps measured after warm-up (default 20). */
  steps?: number;
  /** Steps run first and not measured (default 2). */
  warmup?: number;
}

export interface MemoryTrace {
  /** tf.memory() after each measured step. */
  numTensors: number[];
  numBytes: number[];
  /**
   * Buffers the backend itself holds (backend.numDataIds()): unlike tf.memory(), this also counts data a
   * kernel allocated internally and forgot to free.
   */
  numDataBuffers: number[];
  /** Whether all three stayed exactly constant. */
  flat: boolean;
  /** Last minus first measured value of each, e.g. "+3 tensors, +1536 bytes, +3 buffers" ("" when flat). */
  growth: string;
}

export function traceMemory(step: () => void, opts: MemoryTraceOptions = {}): MemoryTrace {
  const steps = opts.steps ?? 20;
  const warmup = opts.warmup ?? 2;
  for (const [name, value, min] of [["steps", steps, 2], ["warmup", warmup, 0]] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`traceMemory: ${name} (${value}) must be an integer >= ${min}.`);
    }
  }
  for (let i = 0; i < warmup; i++) step();
  const trace = { numTensors: [] as number[], numBytes: [] as number[], numDataBuffers: [] as number[] };
  for (let i = 0; i < steps; i++) {
    step();
    const m = tf.memory();
    trace.numTensors.push(m.numTensors);
    trace.numBytes.push(m.numBytes);
    trace.numDataBuffers.push(tf.backend().numDataIds());
  }
  const delta = (xs: number[]) => xs[xs.length - 1] - xs[0];
  const constant = (xs: number[]) => xs.every((x) => x === xs[0]);
  const flat = constant(trace.numTensors) && constant(trace.numBytes) && constant(trace.numDataBuffers);
  const growth = flat
    ? ""
    : `${delta(trace.numTensors)} tensors, ${delta(trace.numBytes)} bytes, ${delta(trace.numDataBuffers)} buffers ` +
      `over ${steps} steps`;
  return { ...trace, flat, growth };
}
