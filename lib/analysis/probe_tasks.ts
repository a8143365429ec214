// Layer-wise probing: the same probe, trained on every layer's frozen states, for a sentence or a token task,
// each beside its control task (Hewitt & Liang 2019). Plus the token properties the course probes for.
//
//   sentence tasks  one pooled vector per sentence (sentiment); control types = the sentence's first word
//                   (a property of the input that is as arbitrary for sentiment as a word is for a tag);
//   token tasks     one vector per selected word (position, the previous word, negation scope, "was this
//                   token replaced"); control types = the word itself, as in Hewitt & Liang.
// Train and test are split by SENTENCE, so no sentence is seen on both sides.
import { Vocab } from "../data/vocab";
import { throwIfInterrupted } from "../interrupt";
import { Representations, checkLayer } from "./extract";
import { Pooling, TokenLabeler, selectTokens, sentenceVectors, tokenFeatures } from "./pooling";
import { ProbeOptions, majorityAccuracy, probeWithControl, splitByGroup, subset, trainProbe } from "./probe";
import { Features } from "./features";

export type ProbeTask =
  | { name: string; level: "sentence"; labels: readonly number[]; pooling?: Pooling; types?: readonly (number | string)[] }
  | { name: string; level: "token"; labeler: TokenLabeler };

export interface ProbeLayersOptions extends Omit<ProbeOptions, "train" | "test"> {
  representations: Representations;
  task: ProbeTask;
  /** Default: every layer, embeddings (0) included. */
  layers?: number[];
  /** Share of sentences held out for testing (default 0.3). */
  testFraction?: number;
  /** Also train on the control task and report selectivity (default true). */
  control?: boolean;
}

export type LayerProbeRow = {
  model: string;
  task: string;
  layer: number;
  layerName: string;
  accuracy: number;
  controlAccuracy?: number;
  selectivity?: number;
  majority: number;
  trainExamples: number;
  testExamples: number;
};

/** Probe every layer of `representations` for `task`: one row per layer. */
export async function probeLayers(opts: ProbeLayersOptions): Promise<LayerProbeRow[]> {
  const r = opts.representations;
  const task = opts.task;
  const layers = opts.layers ?? r.layerNames.map((_, l) => l);
  if (layers.length === 0) throw new Error("probeLayers got an empty layers list: leave it out for every layer.");
  layers.forEach((l) => checkLayer(r, l));
  let group: number[];
  let labels: readonly number[];
  let types: readonly (number | string)[];
  let featuresAt: (layer: number) => Features;
  if (task.level === "sentence") {
    if (task.labels.length !== r.sequences.length) {
      throw new Error(`task "${task.name}" has ${task.labels.length} labels for ${r.sequences.length} sentences: give one label per sentence.`);
    }
    group = r.sequences.map((_, s) => s);
    labels = task.labels;
    types = task.types ?? r.sequences.map((seq) => seq[Math.min(r.prefix, seq.length - 1)]);
    featuresAt = (layer) => sentenceVectors(r, { layer, pooling: task.pooling ?? "mean" });
  } else if (task.level === "token") {
    const sel = selectTokens(r, task.labeler);
    group = sel.sentence;
    labels = sel.labels;
    types = sel.wordId;
    featuresAt = (layer) => tokenFeatures(r, sel, layer);
  } else {
    throw new Error(`task level "${(task as { level: string }).level}" is unknown: use "sentence" or "token".`);
  }
  const split = splitByGroup(group, { testFraction: opts.testFraction, seed: opts.seed });
  const pick = <T>(xs: readonly T[], idx: number[]) => idx.map((i) => xs[i]);
  const rows: LayerProbeRow[] = [];
  for (const layer of layers) {
    throwIfInterrupted(`probing ${r.model}`);
    const all = { features: featuresAt(layer), labels };
    const train = subset(all, split.train);
    const test = subset(all, split.test);
    const base = { ...opts, representations: undefined, task: undefined };
    const row: LayerProbeRow = {
      model: r.model, task: task.name, layer, layerName: r.layerNames[layer], accuracy: 0,
      majority: majorityAccuracy(train.labels, test.labels), trainExamples: split.train.length, testExamples: split.test.length,
    };
    if (opts.control ?? true) {
      const res = await probeWithControl({ ...base, train: { ...train, types: pick(types, split.train) }, test: { ...test, types: pick(types, split.test) } });
      Object.assign(row, { accuracy: res.testAccuracy, controlAccuracy: res.controlAccuracy, selectivity: res.selectivity });
    } else {
      row.accuracy = (await trainProbe({ ...base, train, test })).testAccuracy;
    }
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// Token properties.

/**
 * Word position in the sentence (after any [CLS]): label i for the first `classes` words; later words are left
 * out (capping them into one class would make "far" the majority label of long sentences).
 */
export function positionLabeler(opts: { classes?: number } = {}): TokenLabeler {
  const classes = opts.classes ?? 8;
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`classes (${classes}) must be an integer >= 2.`);
  return (_words, i) => (i < classes ? i : null);
}

/** The `k` most frequent word ids over sentences (ties by smaller id): the classes of previousWordLabeler. */
export function frequentWords(sentences: readonly (readonly number[])[], k: number, exclude: Iterable<number> = []): number[] {
  const skip = new Set(exclude);
  const counts = new Map<number, number>();
  for (const s of sentences) for (const id of s) if (!skip.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k).map(([id]) => id);
}

/**
 * "Which word came just before this one?" among `words` (e.g. the 10 most frequent): label = its index there;
 * tokens whose previous word is not in the list, and first words, are left out. Needs context: the token
 * itself does not say it, so a context-free layer can only guess from co-occurrence.
 */
export function previousWordLabeler(opts: { words: readonly number[] }): TokenLabeler {
  if (opts.words.length < 2) throw new Error(`previousWordLabeler needs at least 2 words to tell apart, got ${opts.words.length}.`);
  const index = new Map(opts.words.map((w, k) => [w, k]));
  return (words, i) => (i > 0 && index.has(words[i - 1]) ? index.get(words[i - 1])! : null);
}

const NEGATION_CUES = ["not", "n't", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "cannot", "hardly"];
const SCOPE_ENDS = /^[.,;:!?()]$|^--$|^but$/;

/**
 * Is the word inside a negation's scope? A heuristic scope (in the spirit of the Sherlock/SFU annotations, far
 * simpler): from just after a cue ("not", "never", "no", ..., "n't" or a word ending in it as in SST-2's
 * tokenisation, or "isn ' t" as BERT's pre-tokenizer splits it) to the next punctuation mark or "but". Only
 * sentences with a cue are used; cues themselves are left out (they give the answer away). 1 = in scope, 0 = not.
 */
export function negationScopeLabeler(opts: { vocab: Vocab }): TokenLabeler {
  const v = opts.vocab;
  const isEnd = (id: number) => SCOPE_ENDS.test(v.token(id));
  let lastWords: readonly number[] | undefined;
  let lastLabels: (0 | 1 | null)[] = [];
  const label = (words: readonly number[]): (0 | 1 | null)[] => {
    const t = words.map((id) => v.token(id));
    const labels: (0 | 1 | null)[] = [];
    let inScope = false;
    let anyCue = false;
    t.forEach((tok, i) => {
      const split = tok === "t" && t[i - 1] === "'" && (t[i - 2] ?? "").endsWith("n"); // "isn ' t"
      if (NEGATION_CUES.includes(tok) || tok.endsWith("n't") || split) {
        if (split) labels[i - 1] = labels[i - 2] = null;
        labels.push(null);
        inScope = anyCue = true;
      } else if (isEnd(words[i])) {
        labels.push(0);
        inScope = false;
      } else labels.push(inScope ? 1 : 0);
    });
    return anyCue ? labels : labels.map(() => null);
  };
  return (words, i) => {
    // selectTokens asks for one sentence's words in order: label the sentence once.
    if (words !== lastWords) (lastWords = words), (lastLabels = label(words));
    return lastLabels[i];
  };
}

/** Token labels given per sentence (e.g. ELECTRA's replaced/original labels of corrupted inputs); null entries are skipped. */
export function givenLabeler(labels: readonly (readonly (number | null)[])[]): TokenLabeler {
  return (words, i, s) => {
    const row = labels[s];
    if (!row || row.length !== words.length) {
      throw new Error(`givenLabeler: sentence ${s} has ${words.length} words but ${row?.length ?? 0} labels: give one label per word (no [CLS]).`);
    }
    return row[i];
  };
}
