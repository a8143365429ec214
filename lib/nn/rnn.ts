// Recurrent encoders: the lecture's first baseline. Each step waits for the previous one — that is the point
// the course makes about RNNs (strong in theory, sequential in practice), and what 01_rnn_baselines measures.
//
// The cells are written out here, on the course's own parameters, with the gates of the papers and of PyTorch
// (logistic sigmoid, not tfjs-layers' default hard sigmoid) and PyTorch's weight layout, so that weights copied
// from `torch.nn.LSTM` / `torch.nn.GRU` give PyTorch's outputs (test/rnn.test.ts checks this against numbers
// computed by PyTorch). Parameter names follow the model's structure only ("rnn.l0_reverse.wIh"), never a
// process-wide counter, and every weight exists from construction: checkpoints load into a second model.
//
// Layout (PyTorch's, transposed to the course's x·W convention): for G gates of width H,
//   wIh [inDim, G·H] = weight_ih_lK.T   wHh [H, G·H] = weight_hh_lK.T   bIh [G·H] = bias_ih_lK   bHh [G·H] = bias_hh_lK
// with the gates side by side in PyTorch's order: LSTM (i, f, g, o), GRU (r, z, n).
//
// `lstmRecur` and `gruRecur` below are the readable definition of each step. Training runs the same math as
// fused kernels where the backend has them (lib/engine/fused: TensorFlow's own LSTM cell on the native backend,
// one loop kernel on wasm and cpu), because a dozen tiny ops per step made the RNN 5-10x slower than PyTorch;
// NLU_FUSED=off runs the readable version, and the tests hold both to PyTorch's numbers.
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { checkShapes } from "./check";
import { Rng } from "../random";
import {
  BlockCellWeights, fusedKernelsEnabled, jsGruRecurrence, jsLstmRecurrence, jsRecurrenceAvailable, nativeLstmSequence, nativeLstmStep,
  onNativeBackend, opsGruRecurrence,
} from "../engine/fused";

export type RnnCell = "lstm" | "gru";
export const RNN_CELLS: readonly RnnCell[] = ["lstm", "gru"];

/** A recurrent state: h [batch, hidden]; c [batch, hidden] only for an LSTM (its memory cell). */
export interface RnnState {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/** Gates per cell: an LSTM has input, forget, candidate and output; a GRU reset, update and candidate. */
const GATES: Record<RnnCell, number> = { lstm: 4, gru: 3 };

/** tf.tidy for results holding RnnStates (interfaces are not tfjs TensorContainers to the type checker). */
function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

function checkPositiveInt(what: string, value: unknown): void {
  if (!(typeof value === "number" && Number.isInteger(value) && value > 0)) {
    throw new Error(`${what} (${value}) must be a positive integer.`);
  }
}

function checkCell(cell: unknown): RnnCell {
  if (!RNN_CELLS.includes(cell as RnnCell)) throw new Error(`cell "${cell}" is unknown: use "lstm" or "gru".`);
  return cell as RnnCell;
}

/**
 * LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000; PyTorch's nn.LSTM):
 *   [i, f, g, o] = x·W_ih + b_ih + h·W_hh + b_hh      (`gates` holds the first two terms, whatever computed them)
 *   c' = σ(f) ∘ c + σ(i) ∘ tanh(g)        h' = σ(o) ∘ tanh(c')
 * gates: [b, 4H], h, c: [b, H] -> h', c': [b, H]
 */
function lstmRecur(gates: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, wHh: tf.Tensor2D): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const H = h.shape[1];
  const z = tf.add(gates, tf.matMul(h, wHh));
  const sig = tf.sigmoid(z);
  const i = sig.slice([0, 0], [-1, H]);
  const f = sig.slice([0, H], [-1, H]);
  const g = tf.tanh(z.slice([0, 2 * H], [-1, H]));
  const o = sig.slice([0, 3 * H], [-1, H]);
  const cNext = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
  return { h: tf.mul(o, tf.tanh(cNext)) as tf.Tensor2D, c: cNext };
}

/**
 * GRU step, PyTorch's nn.GRU convention (Cho et al. 2014 with the reset gate applied AFTER the recurrent matmul,
 * as in cuDNN and Keras' `reset_after=True`; tfjs-layers' GRU is the other, `reset_after=False`, variant):
 *   r = σ(x·W_ir + b_ir + h·W_hr + b_hr)     z = σ(x·W_iz + b_iz + h·W_hz + b_hz)
 *   n = tanh(x·W_in + b_in + r ∘ (h·W_hn + b_hn))     h' = (1 − z) ∘ n + z ∘ h
 * gates: [b, 3H] = x·W_ih + b_ih; h: [b, H] -> h': [b, H]
 */
function gruRecur(gates: tf.Tensor2D, h: tf.Tensor2D, wHh: tf.Tensor2D, bHh: tf.Tensor1D): tf.Tensor2D {
  const H = h.shape[1];
  const rec = tf.add(tf.matMul(h, wHh), bHh) as tf.Tensor2D;
  const rz = tf.sigmoid(tf.add(gates.slice([0, 0], [-1, 2 * H]), rec.slice([0, 0], [-1, 2 * H])));
  const r = rz.slice([0, 0], [-1, H]);
  const z = rz.slice([0, H], [-1, H]);
  const n = tf.tanh(tf.add(gates.slice([0, 2 * H], [-1, H]), tf.mul(r, rec.slice([0, 2 * H], [-1, H]))));
  return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D; // = (1 − z)∘n + z∘h, one op fewer
}

export interface RecurrentCellOptions {
  /** "lstm" (default) or "gru". */
  cell?: RnnCell;
  inDim: number;
  hidden: number;
  seed?: number;
}

/**
 * One LSTM or GRU cell: `step` reads one token, `run` a whole sequence. An encoder runs it over the input;
 * a seq2seq decoder calls `step` once per output token (with input feeding, the input depends on the last
 * step, so the sequence cannot be handed over at once).
 *
 * Init: Glorot-uniform input and recurrent matrices (over all gates together), zero biases, and the LSTM's
 * forget-gate bias at 1 so that the cell remembers by default early in training (Gers et al. 2000;
 * Jozefowicz et al. 2015).
 */
export class RecurrentCell extends Module {
  readonly cell: RnnCell;
  readonly inDim: number;
  readonly hidden: number;
  /** [inDim, G·H], [H, G·H], [G·H], [G·H]: PyTorch's weight_ih.T, weight_hh.T, bias_ih, bias_hh. */
  readonly wIh: tf.Variable;
  readonly wHh: tf.Variable;
  readonly bIh: tf.Variable;
  readonly bHh: tf.Variable;
  /** The native LSTM step's rearranged weights, kept while the parameters are unchanged (lib/engine/fused). */
  private readonly blockCellWeights = new BlockCellWeights();

  constructor(opts: RecurrentCellOptions) {
    super();
    this.cell = checkCell(opts.cell ?? "lstm");
    checkPositiveInt("RecurrentCell inDim", opts.inDim);
    checkPositiveInt("RecurrentCell hidden", opts.hidden);
    this.inDim = opts.inDim;
    this.hidden = opts.hidden;
    const rng = new Rng(opts.seed ?? 0);
    const H = this.hidden;
    const GH = GATES[this.cell] * H;
    const glorot = (rows: number) => {
      const limit = Math.sqrt(6 / (rows + GH));
      return tf.randomUniform([rows, GH], -limit, limit, "float32", rng.seed());
    };
    this.wIh = this.addParam("wIh", glorot(this.inDim));
    this.wHh = this.addParam("wHh", glorot(H));
    const forgetBias = tf.tidy(() => (this.cell === "lstm" ? tf.concat([tf.zeros([H]), tf.ones([H]), tf.zeros([2 * H])]) : tf.zeros([GH])));
    this.bIh = this.addParam("bIh", forgetBias);
    this.bHh = this.addParam("bHh", tf.zeros([GH]));
  }

  /** The state before the first token: zeros, [batch, hidden] (and the same for an LSTM's c). */
  zeroState(batch: number): RnnState {
    checkPositiveInt("zeroState batch", batch);
    const h = tf.zeros([batch, this.hidden]) as tf.Tensor2D;
    return this.cell === "lstm" ? { h, c: tf.zeros([batch, this.hidden]) as tf.Tensor2D } : { h };
  }

  /** One step. x: [batch, inDim], state from zeroState or the previous step -> the next state. */
  step(x: tf.Tensor2D, state: RnnState): RnnState {
    checkShapes("RecurrentCell.step", { x: [x, ["batch", this.inDim]] }, "x holds one token's input per sequence.");
    this.checkState(state, x.shape[0]);
    const fused = this.fusedKernel("step");
    if (fused === "native") return nativeLstmStep(x, state.h, state.c!, ...this.weights(), this.blockCellWeights);
    return tidy(() => {
      const gates = tf.add(tf.matMul(x, this.wIh as tf.Tensor2D), this.inputBias()) as tf.Tensor2D;
      if (fused === null) return this.recur(gates, state);
      const [B, H] = [x.shape[0], this.hidden];
      const next = this.recurrence(fused, gates.reshape([1, B, -1]) as tf.Tensor3D, state);
      return { h: next.h.reshape([B, H]), ...(next.c ? { c: next.c.reshape([B, H]) } : {}) } as RnnState;
    });
  }

  /**
   * The whole sequence, time-major, from `initial` (default: the zero state). x: [time, batch, inDim] ->
   * h (and c): [time, batch, H], the state after every step. The input half of every gate is one matmul over
   * all steps at once; only the recurrent half (h·W_hh) waits for the previous step.
   */
  run(x: tf.Tensor3D, initial?: RnnState): { h: tf.Tensor3D; c?: tf.Tensor3D } {
    checkShapes("RecurrentCell.run", { x: [x, ["time", "batch", this.inDim]] }, "run() reads time-major input.");
    const [T, B, inDim] = x.shape;
    if (initial) this.checkState(initial, B);
    return tidy(() => {
      let state = initial ?? this.zeroState(B);
      const fused = this.fusedKernel("sequence");
      if (fused === "native") return nativeLstmSequence(x, state.h, state.c!, ...this.weights());
      const GH = GATES[this.cell] * this.hidden;
      const gates = tf.add(tf.matMul(x.reshape([T * B, inDim]), this.wIh as tf.Tensor2D), this.inputBias()).reshape([T, B, GH]) as tf.Tensor3D;
      if (fused !== null) return this.recurrence(fused, gates, state);
      const hs: tf.Tensor2D[] = [];
      const cs: tf.Tensor2D[] = [];
      // (tfjs 4.22's gradient of unstack fails for a single slice: a length-1 sequence is reshaped instead.)
      const steps = T === 1 ? [gates.reshape([B, GH]) as tf.Tensor2D] : (tf.unstack(gates) as tf.Tensor2D[]);
      for (const g of steps) {
        state = this.recur(g, state);
        hs.push(state.h);
        if (state.c) cs.push(state.c);
      }
      const stack = (xs: tf.Tensor2D[]) => (T === 1 ? xs[0].expandDims(0) : tf.stack(xs)) as tf.Tensor3D;
      return this.cell === "lstm" ? { h: stack(hs), c: stack(cs) } : { h: stack(hs) };
    });
  }

  /**
   * Which fused kernel runs here (lib/engine/fused; same math as recur(), far fewer kernels per step). Whole
   * sequences: on native TensorFlow its own LSTM kernel, and for PyTorch's GRU (TensorFlow has no such cell) tfjs
   * ops with a hand-written backward pass; on wasm and cpu the course's recurrence kernels. Single steps (a
   * decoder): only where that measured faster than the plain ops — TensorFlow's LSTM cell, the wasm/cpu GRU kernel.
   */
  private fusedKernel(use: "sequence" | "step"): "native" | "ops" | "js" | null {
    if (!fusedKernelsEnabled()) return null;
    if (onNativeBackend()) return this.cell === "lstm" ? "native" : use === "sequence" ? "ops" : null;
    if (!jsRecurrenceAvailable()) return null;
    return use === "sequence" || this.cell === "gru" ? "js" : null;
  }

  /** A fused recurrence from the input half of every gate. gates: [T, B, G·H] = x·W_ih + bias. */
  private recurrence(kind: "ops" | "js", gates: tf.Tensor3D, state: RnnState): { h: tf.Tensor3D; c?: tf.Tensor3D } {
    const [wHh, bHh] = [this.wHh as tf.Tensor2D, this.bHh as tf.Tensor1D];
    if (this.cell === "lstm") return jsLstmRecurrence(gates, wHh, state.h, state.c!);
    return { h: kind === "js" ? jsGruRecurrence(gates, wHh, bHh, state.h) : opsGruRecurrence(gates, wHh, bHh, state.h) };
  }

  override dispose(): void {
    this.blockCellWeights.dispose();
    super.dispose();
  }

  private weights(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D] {
    return [this.wIh as tf.Tensor2D, this.wHh as tf.Tensor2D, this.bIh as tf.Tensor1D, this.bHh as tf.Tensor1D];
  }

  /** The bias added to x·W_ih: an LSTM's two biases always add up, a GRU keeps b_hn inside r ∘ (...). */
  private inputBias(): tf.Tensor1D {
    return (this.cell === "lstm" ? tf.add(this.bIh, this.bHh) : this.bIh) as tf.Tensor1D;
  }

  private recur(gates: tf.Tensor2D, state: RnnState): RnnState {
    if (this.cell === "lstm") return lstmRecur(gates, state.h, state.c!, this.wHh as tf.Tensor2D);
    return { h: gruRecur(gates, state.h, this.wHh as tf.Tensor2D, this.bHh as tf.Tensor1D) };
  }

  private checkState(state: RnnState, batch: number): void {
    const ok = (t: tf.Tensor | undefined) => t !== undefined && t.rank === 2 && t.shape[0] === batch && t.shape[1] === this.hidden;
    if (!ok(state?.h) || (this.cell === "lstm" && !ok(state.c))) {
      const got = `h [${state?.h?.shape ?? "missing"}]` + (this.cell === "lstm" ? `, c [${state?.c?.shape ?? "missing"}]` : "");
      throw new Error(`RecurrentCell (${this.cell}) state has ${got}; expected [${batch}, ${this.hidden}] (batch, hidden)` +
        (this.cell === "lstm" ? " for both h and c" : "") + ": start from zeroState(batch).");
    }
  }
}

/**
 * Per-sequence lengths from a right-padded mask [batch, time] of 1s (real tokens) then 0s (padding).
 * Read on the CPU: it is tiny, and a mask with a hole or an empty row is an error here, not a wrong state later.
 */
function maskLengths(mask: tf.Tensor2D, x: tf.Tensor3D, inDim: number): number[] {
  checkShapes("RnnEncoder", { x: [x, ["batch", "time", inDim]], mask: [mask, ["batch", "time"]] }, "mask holds 1 per real token, 0 per pad.");
  const [B, T] = mask.shape;
  const m = mask.dataSync();
  const lengths: number[] = [];
  for (let b = 0; b < B; b++) {
    let len = 0;
    while (len < T && m[b * T + len] === 1) len++;
    for (let t = len; t < T; t++) {
      if (m[b * T + t] !== 0) {
        throw new Error(`RnnEncoder: mask row ${b} is not right-padded 1s then 0s (value ${m[b * T + t]} at position ${t}); build it with padBatch.`);
      }
    }
    if (len === 0) throw new Error(`RnnEncoder: mask row ${b} has no real token; every sequence needs at least one.`);
    lengths.push(len);
  }
  return lengths;
}

export interface RnnEncoderOptions {
  inDim: number;
  hidden: number;
  cell?: RnnCell;
  /** Also read right to left and concatenate (default true). */
  bidirectional?: boolean;
  /** Stacked layers; layer k+1 reads layer k's outputs (default 1). */
  layers?: number;
  seed?: number;
}

/**
 * A (bi)directional, optionally stacked, LSTM/GRU encoder over padded batches. Padding never changes a result:
 * the forward direction stops at each sequence's last real token, the backward one starts there (each sequence
 * is reversed within its own length), and outputs at padded positions are zero — PyTorch's semantics for a
 * packed sequence (pack_padded_sequence / pad_packed_sequence). Children: `l0`, `l0_reverse`, `l1`, ... as
 * PyTorch names its weights (`weight_ih_l0_reverse`).
 */
export class RnnEncoder extends Module {
  readonly hidden: number;
  readonly cell: RnnCell;
  readonly bidirectional: boolean;
  /** Stacked layers. */
  readonly numLayers: number;
  /** cells[layer] = [forward] or [forward, backward]. */
  readonly cells: RecurrentCell[][];

  constructor(opts: RnnEncoderOptions) {
    super();
    this.cell = checkCell(opts.cell ?? "lstm");
    checkPositiveInt("RnnEncoder inDim", opts.inDim);
    checkPositiveInt("RnnEncoder hidden", opts.hidden);
    checkPositiveInt("RnnEncoder layers", opts.layers ?? 1);
    this.hidden = opts.hidden;
    this.bidirectional = opts.bidirectional ?? true;
    this.numLayers = opts.layers ?? 1;
    const rng = new Rng(opts.seed ?? 0);
    this.cells = Array.from({ length: this.numLayers }, (_, k) =>
      (this.bidirectional ? ["", "_reverse"] : [""]).map((suffix) =>
        this.addChild(`l${k}${suffix}`, new RecurrentCell({ cell: this.cell, inDim: k === 0 ? opts.inDim : this.width, hidden: this.hidden, seed: rng.seed() })),
      ),
    );
  }

  /** Output width: hidden, or 2·hidden when bidirectional. */
  get width(): number {
    return this.bidirectional ? 2 * this.hidden : this.hidden;
  }

  /**
   * x: [b, t, inDim], mask: [b, t] (1 real, 0 pad; padding on the right) ->
   *   outputs [b, t, width]: the last layer's states, forward ‖ backward, zero at padded positions;
   *   finalStates: one per layer, each direction's state after reading its whole sequence (forward: after the
   *   last real token; backward: after reading back to the first), forward ‖ backward: h (and c) [b, width].
   * The finalStates of a stacked encoder initialise a decoder of the same depth (Sutskever et al. 2014).
   * With `layerOutputs: true` (analysis, lib/analysis) also every layer's outputs, [b, t, width] each.
   */
  encode(x: tf.Tensor3D, mask: tf.Tensor2D, opts: { layerOutputs?: boolean } = {}): { outputs: tf.Tensor3D; finalStates: RnnState[]; layerOutputs?: tf.Tensor3D[] } {
    return this.read(x, mask, true, opts.layerOutputs ?? false) as { outputs: tf.Tensor3D; finalStates: RnnState[]; layerOutputs?: tf.Tensor3D[] };
  }

  /** encode(), without the last layer's outputs when `outputs` is false (final() needs only the states). */
  private read(x: tf.Tensor3D, mask: tf.Tensor2D, outputs: boolean, withLayers = false): { outputs?: tf.Tensor3D; finalStates: RnnState[]; layerOutputs?: tf.Tensor3D[] } {
    const lengths = maskLengths(mask, x, this.cells[0][0].inDim);
    return tidy(() => {
      const [B, T] = mask.shape;
      // Time-major rows t·B + b. `reverse` maps each row to its mirror within the sequence's own length (padding
      // stays put); it is its own inverse. `last` picks each sequence's state after its last real token.
      const reverse = new Int32Array(T * B);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) reverse[t * B + b] = (t < lengths[b] ? lengths[b] - 1 - t : t) * B + b;
      const reverseIdx = tf.tensor1d(reverse, "int32");
      const lastIdx = tf.tensor1d(lengths.map((len, b) => (len - 1) * B + b), "int32");
      const rows = (v: tf.Tensor3D, idx: tf.Tensor1D) => tf.gather(v.reshape([T * B, -1]), idx);
      const maskT = mask.transpose().expandDims(2); // [T, B, 1]

      let input = x.transpose([1, 0, 2]) as tf.Tensor3D; // [T, B, in]
      const finalStates: RnnState[] = [];
      const layerOutputs: tf.Tensor3D[] = [];
      this.cells.forEach((layer, k) => {
        const last = k === this.cells.length - 1;
        const outs: tf.Tensor3D[] = [];
        const hs: tf.Tensor2D[] = [];
        const cs: tf.Tensor2D[] = [];
        layer.forEach((cell, d) => {
          const xs = d === 0 ? input : (rows(input, reverseIdx).reshape([T, B, -1]) as tf.Tensor3D);
          const run = cell.run(xs);
          hs.push(rows(run.h, lastIdx) as tf.Tensor2D);
          if (run.c) cs.push(rows(run.c, lastIdx) as tf.Tensor2D);
          if (outputs || !last) outs.push(d === 0 ? run.h : (rows(run.h, reverseIdx).reshape([T, B, this.hidden]) as tf.Tensor3D));
        });
        if (outs.length) input = tf.mul(outs.length === 1 ? outs[0] : tf.concat(outs, 2), maskT) as tf.Tensor3D;
        const join = (xs: tf.Tensor2D[]) => (xs.length === 1 ? xs[0] : (tf.concat(xs, 1) as tf.Tensor2D));
        finalStates.push(this.cell === "lstm" ? { h: join(hs), c: join(cs) } : { h: join(hs) });
        if (withLayers) layerOutputs.push(input.transpose([1, 0, 2]) as tf.Tensor3D);
      });
      const out = { outputs: outputs ? (input.transpose([1, 0, 2]) as tf.Tensor3D) : undefined, finalStates };
      return withLayers ? { ...out, layerOutputs } : out;
    });
  }

  /** x: [b, t, inDim], mask: [b, t] -> the last layer's states [b, t, width] (zero at padding). */
  sequence(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.encode(x, mask).outputs);
  }

  /**
   * The sentence vector: the last layer's forward state after the last real token, concatenated with its
   * backward state after reading back to the first token. x: [b, t, inDim], mask: [b, t] -> [b, width]
   */
  final(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { finalStates } = this.read(x, mask, false);
      return finalStates[finalStates.length - 1].h;
    });
  }
}
