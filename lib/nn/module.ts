// Module: the one parameter container every model in the course is built from.
//
// A Module owns named tf.Variables and child Modules, like torch.nn.Module. The Trainer optimises
// `trainableVariables()`, checkpoints use `namedParameters()`, and notebooks print `paramCount()`.
// A child registered under two parents (ELECTRA's shared embeddings) is ONE set of variables: parameters are
// deduplicated by identity, the first path wins.
import * as tf from "@tensorflow/tfjs";

export abstract class Module {
  private readonly params = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  private readonly layers = new Map<string, tf.layers.Layer>();

  /** Register a parameter, taking ownership of `init` (it becomes the variable's value). */
  protected addParam(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    this.assertFreeName(name);
    const v = tf.variable(init, trainable);
    init.dispose();
    this.params.set(name, v);
    return v;
  }

  /** Register a child module; its parameters appear as `name.<child path>`. */
  protected addChild<M extends Module>(name: string, child: M): M {
    this.assertFreeName(name);
    this.children.set(name, child);
    return child;
  }

  /**
   * Register a tfjs layer (e.g. tf.layers.dense) used imperatively via layer.apply(tensor), built now for inputs
   * of `inputShape` (without the batch axis) so that its weights exist from construction, like addParam's.
   * Its weights are named by position and role (`name.0_kernel`), never by tfjs's layer name, which embeds a
   * process-wide counter (`lstm_LSTM2`) and would stop a checkpoint loading into a second model.
   */
  protected addLayer<L extends tf.layers.Layer>(name: string, layer: L, inputShape?: (number | null)[]): L {
    this.assertFreeName(name);
    if (!layer.built) {
      if (!inputShape) {
        throw new Error(`addLayer("${name}"): the layer is not built; pass its inputShape (without the batch axis) so its weights exist now.`);
      }
      layer.build([null, ...inputShape]);
    }
    this.layers.set(name, layer);
    return layer;
  }

  private assertFreeName(name: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`parameter/child name "${name}" must be an identifier (letters, digits, _), e.g. "wQkv".`);
    }
    if (this.params.has(name) || this.children.has(name) || this.layers.has(name)) {
      throw new Error(`"${name}" is already registered on ${this.constructor.name}; choose another name.`);
    }
  }

  /** Every parameter under a dotted path ("encoder.layer0.attention.wQkv"), each variable once. */
  namedParameters(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    const seen = new Set<tf.Variable>();
    const visit = (m: Module, prefix: string): void => {
      for (const [n, v] of m.params) {
        if (!seen.has(v)) (seen.add(v), out.set(prefix + n, v));
      }
      for (const [n, layer] of m.layers) {
        // tfjs LayerVariable.read() is the backing tf.Variable. Only the last segment of its name is structural
        // ("forward_lstm_LSTM1/kernel" -> "kernel"); the position keeps two kernels apart.
        layer.weights.forEach((w, i) => {
          const v = w.read() as tf.Variable;
          const role = w.originalName.split("/").pop()!.replace(/[^A-Za-z0-9_]/g, "_");
          if (!seen.has(v)) (seen.add(v), out.set(`${prefix}${n}.${i}_${role}`, v));
        });
      }
      for (const [n, c] of m.children) visit(c, `${prefix}${n}.`);
    };
    visit(this, "");
    return out;
  }

  parameters(): tf.Variable[] {
    return [...this.namedParameters().values()];
  }

  trainableVariables(): tf.Variable[] {
    return this.parameters().filter((v) => v.trainable);
  }

  /** Number of scalar parameters (each shared variable counted once). */
  paramCount(): number {
    return this.parameters().reduce((n, v) => n + v.size, 0);
  }

  /**
   * Copy every parameter's value from a module of the same architecture (same names and shapes): starting one
   * model from another's weights (two-stage pre-training, a fine-tuning copy). Values are copied, not shared.
   */
  copyWeightsFrom(source: Module): this {
    const src = source.namedParameters();
    const dst = this.namedParameters();
    const missing = [...dst.keys()].filter((n) => !src.has(n));
    const extra = [...src.keys()].filter((n) => !dst.has(n));
    const shapes = [...dst].filter(([n, v]) => src.has(n) && src.get(n)!.shape.join() !== v.shape.join());
    if (missing.length || extra.length || shapes.length) {
      const list = (xs: string[]) => xs.slice(0, 3).join(", ") + (xs.length > 3 ? `, ... (${xs.length})` : "");
      throw new Error(
        `copyWeightsFrom: ${source.constructor.name} does not match ${this.constructor.name}` +
          (missing.length ? `; missing in the source: ${list(missing)}` : "") +
          (extra.length ? `; not in this model: ${list(extra)}` : "") +
          (shapes.length ? `; shapes differ: ${list(shapes.map(([n, v]) => `${n} [${src.get(n)!.shape}] vs [${v.shape}]`))}` : "") +
          ". Build both with the same sizes (width, heads, layers, vocabulary, maxLen).",
      );
    }
    for (const [n, v] of dst) v.assign(src.get(n)!);
    return this;
  }

  /** Freeze or unfreeze every parameter (a distillation teacher is frozen). */
  setTrainable(trainable: boolean): this {
    for (const v of this.parameters()) v.trainable = trainable;
    return this;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    // A layer built by addLayer but never applied has no use count, and tfjs refuses to dispose it: free its weights.
    for (const l of this.layers.values()) for (const w of l.weights) w.read().dispose();
    for (const c of this.children.values()) c.dispose();
  }
}
