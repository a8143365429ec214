// TEMPORARY stand-in for the step-level recurrent API that lib/nn/rnn.ts is being rewritten to provide
// (RecurrentCell, RnnEncoder.encode; engine issue 17). It has exactly that interface, so lib/models/seq2seq
// switches to lib/nn/rnn.ts by changing one import; delete this file when the rewrite lands.
//
// Standard cells (the same equations as PyTorch's nn.LSTMCell / nn.GRUCell):
//   LSTM  i, f, o = σ(·), g = tanh(·) of x W + h U + b;  c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
//   GRU   r, z = σ(x W + h U + b);  n = tanh(x W_n + b_n + r ⊙ (h U_n + b_hn));  h' = (1 − z) ⊙ n + z ⊙ h
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";
import { glorotUniform } from "./layers";
import { Rng } from "../random";

export type RnnCell = "lstm" | "gru";

export type RnnState = {
  /** [batch, hidden] */
  h: tf.Tensor2D;
  /** [batch, hidden], LSTM only */
  c?: tf.Tensor2D;
};

export class RecurrentCell extends Module {
  readonly hidden: number;
  readonly cell: RnnCell;
  readonly inDim: number;
  private readonly w: tf.Variable;
  private readonly u: tf.Variable;
  private readonly b: tf.Variable;
  private readonly bhn?: tf.Variable;

  constructor(opts: { cell?: RnnCell; inDim: number; hidden: number; seed?: number }) {
    super();
    const cell = opts.cell ?? "lstm";
    if (cell !== "lstm" && cell !== "gru") throw new Error(`cell "${cell}" is unknown: use "lstm" or "gru".`);
    for (const k of ["inDim", "hidden"] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new Error(`RecurrentCell ${k} (${opts[k]}) must be a positive integer.`);
    }
    this.cell = cell;
    this.hidden = opts.hidden;
    this.inDim = opts.inDim;
    const gates = cell === "lstm" ? 4 : 3;
    const rng = new Rng(opts.seed ?? 0);
    const H = opts.hidden;
    this.w = this.addParam("weightIh", glorotUniform([opts.inDim, gates * H], rng));
    this.u = this.addParam("weightHh", glorotUniform([H, gates * H], rng));
    // LSTM forget-gate bias 1 (Jozefowicz et al. 2015): remember by default at the start of training.
    const bias = new Float32Array(gates * H);
    if (cell === "lstm") bias.fill(1, H, 2 * H);
    this.b = this.addParam("bias", tf.tensor1d(bias));
    if (cell === "gru") this.bhn = this.addParam("biasHn", tf.zeros([H]));
  }

  zeroState(batch: number): RnnState {
    const h = tf.zeros([batch, this.hidden]) as tf.Tensor2D;
    return this.cell === "lstm" ? { h, c: tf.zeros([batch, this.hidden]) as tf.Tensor2D } : { h };
  }

  /** x [batch, inDim] → x W (the input half of every gate), for precomputing a whole sequence at once. */
  project(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = x.reshape([-1, this.inDim]) as tf.Tensor2D;
      return tf.matMul(flat, this.w as tf.Tensor2D).reshape([...x.shape.slice(0, -1), this.w.shape[1]!]);
    });
  }

  /** One step from an input already projected by `project`: xw [batch, gates·hidden]. */
  stepProjected(xw: tf.Tensor2D, state: RnnState): RnnState {
    return tf.tidy(() => {
      const hu = tf.matMul(state.h, this.u as tf.Tensor2D);
      if (this.cell === "lstm") {
        const z = tf.add(tf.add(xw, hu), this.b);
        const [i, f, g, o] = tf.split(z, 4, 1) as tf.Tensor2D[];
        const c = tf.add(tf.mul(tf.sigmoid(f), state.c!), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
        const h = tf.mul(tf.sigmoid(o), tf.tanh(c)) as tf.Tensor2D;
        return { h, c };
      }
      const xb = tf.add(xw, this.b);
      const [xr, xz, xn] = tf.split(xb, 3, 1);
      const [hr, hz, hn] = tf.split(hu, 3, 1);
      const r = tf.sigmoid(tf.add(xr, hr));
      const zg = tf.sigmoid(tf.add(xz, hz));
      const n = tf.tanh(tf.add(xn, tf.mul(r, tf.add(hn, this.bhn!))));
      const h = tf.add(tf.mul(tf.sub(1, zg), n), tf.mul(zg, state.h)) as tf.Tensor2D;
      return { h };
    });
  }

  /** One step: x [batch, inDim], state → the next state. */
  step(x: tf.Tensor2D, state: RnnState): RnnState {
    return tf.tidy(() => this.stepProjected(this.project(x) as tf.Tensor2D, state));
  }
}

/** Blend: where mask is 1 take the new state, where 0 keep the old one (padding leaves the state unchanged). */
function blend(m: tf.Tensor2D, next: RnnState, prev: RnnState): RnnState {
  const mix = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.add(b, tf.mul(m, tf.sub(a, b))) as tf.Tensor2D;
  return next.c ? { h: mix(next.h, prev.h), c: mix(next.c, prev.c!) } : { h: mix(next.h, prev.h) };
}

export interface RnnEncoderOptions {
  inDim: number;
  hidden: number;
  cell?: RnnCell;
  bidirectional?: boolean;
  layers?: number;
  seed?: number;
}

export class RnnEncoder extends Module {
  readonly hidden: number;
  readonly bidirectional: boolean;
  readonly numLayers: number;
  private readonly fwd: RecurrentCell[] = [];
  private readonly bwd: RecurrentCell[] = [];

  constructor(opts: RnnEncoderOptions) {
    super();
    this.hidden = opts.hidden;
    this.bidirectional = opts.bidirectional ?? true;
    this.numLayers = opts.layers ?? 1;
    if (!Number.isInteger(this.numLayers) || this.numLayers < 1) throw new Error(`layers (${this.numLayers}) must be a positive integer.`);
    const rng = new Rng(opts.seed ?? 0);
    for (let l = 0; l < this.numLayers; l++) {
      const inDim = l === 0 ? opts.inDim : this.width;
      this.fwd.push(this.addChild(`layer${l}Fwd`, new RecurrentCell({ cell: opts.cell, inDim, hidden: opts.hidden, seed: rng.seed() })));
      if (this.bidirectional) this.bwd.push(this.addChild(`layer${l}Bwd`, new RecurrentCell({ cell: opts.cell, inDim, hidden: opts.hidden, seed: rng.seed() })));
    }
  }

  get width(): number {
    return this.bidirectional ? 2 * this.hidden : this.hidden;
  }

  sequence(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
    const { outputs, finalStates } = this.encode(x, mask);
    finalStates.forEach((s) => (s.h.dispose(), s.c?.dispose()));
    return outputs;
  }

  /** x [b, t, inDim], mask [b, t] → outputs [b, t, width] and one final state per layer (fwd ‖ bwd). */
  encode(x: tf.Tensor3D, mask: tf.Tensor2D): { outputs: tf.Tensor3D; finalStates: RnnState[] } {
    return tf.tidy(() => {
      const [b, t] = mask.shape;
      const masks = tf.unstack(mask.reshape([b, t, 1]), 1) as tf.Tensor2D[];
      let input: tf.Tensor3D = x;
      const finals: RnnState[] = [];
      for (let l = 0; l < this.numLayers; l++) {
        const run = (cell: RecurrentCell, reverse: boolean) => {
          const xw = tf.unstack(cell.project(input), 1) as tf.Tensor2D[];
          let s = cell.zeroState(b);
          const outs: tf.Tensor2D[] = new Array(t);
          for (let k = 0; k < t; k++) {
            const i = reverse ? t - 1 - k : k;
            s = blend(masks[i], cell.stepProjected(xw[i], s), s);
            outs[i] = s.h;
          }
          return { outs, final: s };
        };
        const f = run(this.fwd[l], false);
        if (this.bidirectional) {
          const r = run(this.bwd[l], true);
          input = tf.concat([tf.stack(f.outs, 1), tf.stack(r.outs, 1)], 2) as tf.Tensor3D;
          finals.push(f.final.c ? { h: tf.concat([f.final.h, r.final.h], 1), c: tf.concat([f.final.c, r.final.c!], 1) } : { h: tf.concat([f.final.h, r.final.h], 1) });
        } else {
          input = tf.stack(f.outs, 1) as tf.Tensor3D;
          finals.push(f.final);
        }
      }
      return { outputs: input, finalStates: finals };
    });
  }
}
