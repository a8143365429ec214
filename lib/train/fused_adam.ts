// Adam over ONE flat buffer: the same update as tfjs's tf.train.adam, in a handful of ops instead of ~14 per
// variable.
//
// Why: a model's step is dominated by per-op overhead at the course's sizes (every op crosses the N-API boundary
// on the native backend). tfjs's Adam issues about 14 small ops per variable (moments, bias correction, update),
// so a 90-variable transformer spends ~1,300 of its ~3,000 kernel calls in the optimizer. PyTorch meets the same
// problem with its multi-tensor ("foreach") Adam, its default on the CPU; this is that idea for tfjs: the
// gradients are concatenated into one vector [P], the moments m and v are two vectors [P], the update is
// computed once and split back into the variables' shapes (3 ops per variable: reshape, reshape, add).
//
// The math is Algorithm 1 of Kingma & Ba (2015), exactly as tf.train.adam writes it (tfjs-core
// adam_optimizer.ts):
//   m ← β1·m + (1−β1)·g            v ← β2·v + (1−β2)·g²
//   θ ← θ − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
// test/fused-adam.test.ts holds the two to the same weights over many steps, with clipping, a gradient that is
// missing on some steps (its moments and weights stay untouched, as in tfjs) and variables that appear later.
// The Trainer uses it for optimizer "adam" on native TensorFlow while the fused kernels are on (NLU_FUSED=off:
// tf.train.adam). Not on wasm: there its concat and split cost more than the per-variable ops they replace.
import * as tf from "@tensorflow/tfjs";

/** A named tensor, as tf.Optimizer's getWeights/setWeights exchange them. */
type NamedTensor = { name: string; tensor: tf.Tensor };

export interface FusedAdamOptions {
  /** Step size (default 1e-3); the Trainer's schedule rewrites `learningRate` before every step. */
  learningRate?: number;
  /** Decay rates of the first and second moment estimates (defaults 0.9 and 0.999, as tf.train.adam). */
  beta1?: number;
  beta2?: number;
  /** Added to √v̂ (default: the backend's epsilon, 1e-7 in float32, as tf.train.adam). */
  epsilon?: number;
}

/** The gradients of one step as one vector in the optimizer's layout, and which variables had one. */
export interface FlatGradients {
  /** [P]: every variable's gradient, flattened and concatenated in layout order (zeros where missing). */
  vector: tf.Tensor1D;
  /** Per layout entry: whether this step has its gradient (a missing one leaves moments and weights alone). */
  present: boolean[];
}

interface Slot {
  name: string;
  shape: number[];
  size: number;
}

export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return "FusedAdam";
  }
  // tf.Optimizer answers `instanceof` for anything with minimize/applyGradients (every optimizer), and subclasses
  // inherit that; the Trainer needs to know that it has THIS optimizer, so use the prototype chain again.
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === "object" && x !== null && Object.prototype.isPrototypeOf.call(FusedAdam.prototype, x);
  }
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** The variables in buffer order (order of first appearance); m and v hold their moments end to end. */
  private slots: Slot[] = [];
  private m: tf.Variable | null = null;
  private v: tf.Variable | null = null;
  /** Steps taken: t of the bias correction. */
  private t = 0;

  constructor(o: FusedAdamOptions = {}) {
    super();
    const { learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = tf.backend().epsilon() } = o;
    if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new Error(`FusedAdam learningRate (${learningRate}) must be a positive number, e.g. 1e-3.`);
    for (const [k, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`FusedAdam ${k} (${b}) must be in [0, 1), e.g. 0.9 for beta1 and 0.999 for beta2.`);
    }
    if (!(epsilon > 0)) throw new Error(`FusedAdam epsilon (${epsilon}) must be positive, e.g. 1e-7.`);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
  }

  /** Total parameters in the buffer (P). */
  get size(): number {
    return this.slots.reduce((s, x) => s + x.size, 0);
  }

  /**
   * The step's gradients as one vector [P] (call inside tf.tidy). A variable seen for the first time joins the
   * layout with zero moments, as tf.train.adam creates them; a null or missing gradient gives zeros and
   * present=false. Throws if a gradient's shape differs from its variable's.
   */
  flatten(grads: tf.NamedTensorMap): FlatGradients {
    const known = new Set(this.slots.map((s) => s.name));
    const added: Slot[] = [];
    for (const name of Object.keys(grads)) {
      if (known.has(name) || grads[name] == null) continue;
      const variable = tf.engine().registeredVariables[name];
      if (!variable) throw new Error(`FusedAdam: no variable named "${name}" is registered; pass the gradients tf.variableGrads returned.`);
      added.push({ name, shape: variable.shape.slice(), size: variable.size });
    }
    if (added.length > 0) this.extend(added);
    const present = this.slots.map((s) => grads[s.name] != null);
    const parts = this.slots.map((s, i) => {
      const g = grads[s.name];
      if (!present[i]) return tf.zeros([s.size]);
      if (!tf.util.arraysEqual(g.shape, s.shape)) throw new Error(`FusedAdam: the gradient of "${s.name}" has shape [${g.shape}], its variable [${s.shape}].`);
      return tf.reshape(g, [s.size]);
    });
    return { vector: (parts.length === 1 ? parts[0] : tf.concat(parts)) as tf.Tensor1D, present };
  }

  /**
   * One Adam step from flat gradients (flatten's result), the gradient first multiplied by `scale` (the
   * Trainer's clipping factor; default 1). Updates m, v and every present variable in place.
   */
  applyFlat(g: FlatGradients, scale = 1): void {
    if (!this.m || !this.v || g.vector.size !== this.size) throw new Error(`FusedAdam.applyFlat: the vector has ${g.vector.size} entries, the layout ${this.size}; build it with flatten() of this optimizer.`);
    const m = this.m;
    const v = this.v;
    this.t += 1;
    const c1 = 1 - Math.pow(this.beta1, this.t);
    const c2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      const grad = scale === 1 ? g.vector : tf.mul(g.vector, scale);
      let m1: tf.Tensor = tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1));
      let v1: tf.Tensor = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2));
      const allPresent = g.present.every(Boolean);
      // A variable without a gradient this step keeps its moments (tf.train.adam skips it entirely).
      const keep = allPresent ? null : tf.concat(this.slots.map((s, i) => tf.fill([s.size], g.present[i] ? 1 : 0, "bool")));
      if (keep) {
        m1 = tf.where(keep, m1, m);
        v1 = tf.where(keep, v1, v);
      }
      const update = tf.mul(tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), this.epsilon)), -this.learningRate);
      m.assign(m1 as tf.Tensor1D);
      v.assign(v1 as tf.Tensor1D);
      const pieces = this.slots.length === 1 ? [update] : tf.split(update, this.slots.map((s) => s.size));
      this.slots.forEach((s, i) => {
        if (!g.present[i]) return;
        const variable = tf.engine().registeredVariables[s.name];
        variable.assign(tf.add(variable, tf.reshape(pieces[i], s.shape)));
      });
    });
    this.incrementIterations();
  }

  /** tf.Optimizer's entry point: flatten, then one step. */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const grads: tf.NamedTensorMap = Array.isArray(variableGradients) ? Object.fromEntries(variableGradients.map((x) => [x.name, x.tensor])) : variableGradients;
    tf.tidy(() => this.applyFlat(this.flatten(grads)));
  }

  /** Append variables to the layout with zero moments. */
  private extend(added: Slot[]): void {
    const extra = added.reduce((s, x) => s + x.size, 0);
    const grow = (old: tf.Variable | null) => {
      const next = tf.tidy(() => (old ? tf.concat([old, tf.zeros([extra])]) : tf.zeros([extra])).variable(false));
      old?.dispose();
      return next;
    };
    this.m = grow(this.m);
    this.v = grow(this.v);
    this.slots.push(...added);
  }

  override dispose(): void {
    this.m?.dispose();
    this.v?.dispose();
    this.m = this.v = null;
    this.slots = [];
  }

  /** tf.train.adam's layout: iterations, then every variable's m ("<name>/m"), then every v ("<name>/v"). */
  override async getWeights(): Promise<NamedTensor[]> {
    const per = (flat: tf.Variable | null, suffix: string): NamedTensor[] => {
      if (!flat) return [];
      const pieces = this.slots.length === 1 ? [flat.clone()] : tf.split(flat, this.slots.map((s) => s.size));
      return this.slots.map((s, i) => ({ name: `${s.name}/${suffix}`, tensor: tf.tidy(() => tf.reshape(pieces[i], s.shape)) }));
    };
    const ms = per(this.m, "m");
    const vs = per(this.v, "v");
    const out = [await this.saveIterations(), ...ms, ...vs];
    return out;
  }

  /** Inverse of getWeights (also accepts tf.train.adam's weights): restores the layout, the moments and t. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    if (rest.length % 2 !== 0) throw new Error(`FusedAdam.setWeights: expected iterations then m and v per variable, got ${rest.length} tensors after iterations.`);
    const n = rest.length / 2;
    const strip = (name: string, suffix: string) => {
      if (!name.endsWith(`/${suffix}`)) throw new Error(`FusedAdam.setWeights: "${name}" should end with "/${suffix}" (names as getWeights writes them).`);
      return name.slice(0, -suffix.length - 1);
    };
    const slots = rest.slice(0, n).map((w, i) => {
      const name = strip(w.name, "m");
      if (strip(rest[n + i].name, "v") !== name) throw new Error(`FusedAdam.setWeights: "${rest[n + i].name}" does not match "${w.name}".`);
      return { name, shape: w.tensor.shape.slice(), size: w.tensor.size };
    });
    this.dispose();
    this.t = this.iterations;
    if (n === 0) return;
    this.slots = slots;
    const flat = (ws: NamedTensor[]) => tf.tidy(() => tf.concat(ws.map((w) => tf.reshape(w.tensor, [w.tensor.size]))).variable(false));
    this.m = flat(rest.slice(0, n));
    this.v = flat(rest.slice(n));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}
