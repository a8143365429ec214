// Notebook 08's experiment: the corpus, the three encoders it looks inside (random init, BERT, ELECTRA; the
// same shape, the same vocabulary), fine-tuning, ELECTRA's corrupted inputs, and the probing runs.
//
// Pre-training follows notebook 04 (same corpus recipe, same ElectraModel, the one Trainer) and is cached under
// checkpoints/ by pretrainCached, so a re-run loads the weights. Quick mode pre-trains tiny models in the
// notebook; full mode uses notebook 04's full-mode settings.
import { ElectraModel, ElectraObjective, TokenIds } from "../models/electra";
import { TransformerClassifier } from "../models/transformer_classifier";
import { LabelledIds } from "../models/classifier";
import { pretrainCached, checkpointDir } from "../models/pretrain_cache";
import { loadMulti30k, loadSst2 } from "../data/corpora";
import { wordTokenize, detokenize } from "../data/tokenize";
import { Vocab, CLS_ID } from "../data/vocab";
import { Trainer } from "../train/trainer";
import { Rng } from "../random";
import { mode, sized } from "../mode";
import { prepareSst2 } from "./sst2";
import { Representations, extractRepresentations } from "../analysis/extract";
import { LayerProbeRow, ProbeTask, givenLabeler, probeLayers } from "../analysis/probe_tasks";
import { ProbeKind } from "../analysis/probe";

/** Every size of the study, in one place: quick and full mode differ only here. */
export interface StudySizes {
  vocab: number;
  width: number;
  heads: number;
  layers: number;
  maxLen: number;
  batch: number;
  /** Pre-training steps per model. */
  steps: number;
  lr: number;
  /** SST-2 dev sentences analysed (probes split them by sentence). */
  sentences: number;
  /** SST-2 training sentences for fine-tuning, epochs and learning rate. */
  labelled: number;
  ftEpochs: number;
  ftLr: number;
  /** Probe training epochs (at least 100 steps in any case). */
  probeEpochs: number;
}

export function studySizes(): StudySizes {
  return {
    vocab: sized({ quick: 2000, full: 5000 }),
    width: sized({ quick: 64, full: 128 }),
    heads: sized({ quick: 2, full: 4 }),
    layers: 2,
    maxLen: sized({ quick: 32, full: 48 }),
    batch: 32,
    steps: sized({ quick: 80, full: 1000 }),
    lr: sized({ quick: 2e-3, full: 1e-3 }),
    sentences: sized({ quick: 300, full: 872 }),
    labelled: sized({ quick: 800, full: 1000 }),
    ftEpochs: sized({ quick: 3, full: 5 }),
    ftLr: sized({ quick: 2e-3, full: 1e-3 }),
    probeEpochs: sized({ quick: 6, full: 20 }),
  };
}

/** The text the encoders learn from and the sentences the notebook looks at, all in one vocabulary. */
export interface StudyData {
  vocab: Vocab;
  /** Pre-training sequences (word ids, no [CLS]). */
  pretrain: TokenIds[];
  /** SST-2 dev sentences (never pre-trained or fine-tuned on): word ids, labels 0/1, text for hover. */
  analysis: { ids: number[][]; labels: number[]; texts: string[] };
  /** SST-2 training sentences for fine-tuning. */
  labelled: LabelledIds[];
  /** A fingerprint of the vocabulary, so cached weights are reused only with the same token ids. */
  vocabHash: number;
}

/**
 * Notebook 04's corpus recipe: SST-2 training sentences (labels dropped) and Multi30k's English captions, at
 * least 5 words each; the vocabulary is fit on it. SST-2 dev is kept out of pre-training and fine-tuning.
 */
export async function prepareStudyData(s: StudySizes = studySizes()): Promise<StudyData> {
  const sst = (await loadSst2("train")).map((x) => wordTokenize(x.text)).filter((t) => t.length >= 5);
  const captions = (await loadMulti30k("train")).map((x) => wordTokenize(x.en)).filter((t) => t.length >= 5);
  const corpus = [...sst, ...captions];
  const vocab = Vocab.build(corpus, { maxSize: s.vocab });
  const order = new Rng(0).shuffle(corpus.map((_, i) => i));
  const pretrain = order.map((i) => ({ ids: vocab.encode(corpus[i]) }));
  const split = await prepareSst2({ trainSize: s.labelled, seed: 0 });
  const encode = (tokens: string[]) => vocab.encode(tokens.length ? tokens : ["[UNK]"]);
  const dev = split.dev.tokens.slice(0, s.sentences);
  const vocabHash = vocab.tokens.join("\u0001").split("").reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 7);
  return {
    vocab, pretrain, vocabHash,
    analysis: { ids: dev.map(encode), labels: split.dev.raw.slice(0, s.sentences).map((x) => x.label), texts: dev.map(detokenize) },
    labelled: split.train.tokens.map((t, i) => ({ ids: encode(t), label: split.train.raw[i].label })),
  };
}

export interface StudyEncoders {
  /** The same architecture, never trained: what the other two are compared against. */
  random: ElectraModel;
  bert: ElectraModel;
  electra: ElectraModel;
  /** Seconds of pre-training run now (0 when both came from the cache). */
  seconds: number;
}

/** Random-init, BERT and ELECTRA encoders of one shape, pre-trained (or loaded from checkpoints/) for s.steps steps. */
export async function studyEncoders(data: StudyData, s: StudySizes = studySizes(), opts: { seed?: number; log?: (m: string) => void } = {}): Promise<StudyEncoders> {
  const seed = opts.seed ?? 0;
  const make = (objective: ElectraObjective) => new ElectraModel({
    vocabSize: data.vocab.size, width: s.width, heads: s.heads, layers: s.layers, maxLen: s.maxLen, dropout: 0.1, objective, seed,
  });
  let seconds = 0;
  const pretrained = async (objective: ElectraObjective) => {
    const r = await pretrainCached({
      dir: checkpointDir(`e08-${mode()}-${objective}-s${seed}`),
      key: { steps: s.steps, batch: s.batch, lr: s.lr, corpus: data.pretrain.length, vocabHash: data.vocabHash },
      make: () => make(objective),
      log: opts.log,
      train: async (model) => {
        const trainer = new Trainer(model, {
          batchSize: s.batch, maxSteps: s.steps, epochs: 1000, learningRate: s.lr, seed, clipNorm: 1, plot: false,
          schedule: { kind: "linear", warmupSteps: Math.round(s.steps / 10) },
        });
        await trainer.fit(data.pretrain);
        trainer.dispose();
        return { steps: s.steps };
      },
    });
    seconds += r.seconds;
    return r.model;
  };
  const bert = await pretrained("bert");
  const electra = await pretrained("electra");
  return { random: make("bert"), bert, electra, seconds };
}

/**
 * Fine-tune a copy of the model's main encoder on the labelled SST-2 slice ([CLS] pooling, as BERT and ELECTRA
 * fine-tune), then score it on the analysed dev sentences. The pre-trained model is left as it was.
 */
export async function fineTune(model: ElectraModel, data: StudyData, s: StudySizes = studySizes(), seed = 0): Promise<{ classifier: TransformerClassifier; accuracy: number }> {
  const classifier = model.toClassifier({ numClasses: 2, pooling: "cls", seed });
  const trainer = new Trainer(classifier, {
    batchSize: s.batch, epochs: s.ftEpochs, learningRate: s.ftLr, seed, progress: false, plot: false,
    schedule: { kind: "linear", warmupSteps: Math.ceil(data.labelled.length / s.batch) },
  });
  await trainer.fit(data.labelled);
  const accuracy = trainer.score(data.analysis.ids.map((ids, i) => ({ ids, label: data.analysis.labels[i] })), "accuracy");
  trainer.dispose();
  return { classifier, accuracy };
}

/**
 * ELECTRA's own pre-training input for each sentence: ~15% of the words masked and refilled by the generator's
 * samples. -> sequences as the discriminator reads them ([CLS] first) and, per sentence, a label per WORD
 * (1 = replaced, 0 = original; [CLS] left out) — the "was this token replaced?" probing task.
 */
export function corruptedSentences(electra: ElectraModel, sentences: readonly number[][], seed = 0): { sequences: number[][]; labels: number[][] } {
  if (!electra.generator) throw new Error(`corruptedSentences needs a model with a generator; objective "${electra.objective}" has none.`);
  const sequences: number[][] = [];
  const labels: number[][] = [];
  sentences.forEach((ids, i) => {
    const e = electra.explain(ids, { seed: seed + i });
    const prefix = e.corrupted[0] === CLS_ID && electra.cfg.addCls ? 1 : 0;
    sequences.push(e.corrupted);
    labels.push(e.labels.slice(prefix));
  });
  return { sequences, labels };
}

/**
 * The "was this token replaced?" probing runs: `corruptor`'s generator corrupts each sentence once, and every
 * model in `models` reads the same corrupted sequences. -> one probeStudy run per model.
 */
export function replacedTokenRuns(opts: {
  corruptor: ElectraModel;
  models: readonly { model: ElectraModel; name?: string }[];
  sentences: readonly number[][];
  seed?: number;
}): { representations: Representations; tasks: ProbeTask[] }[] {
  const corrupted = corruptedSentences(opts.corruptor, opts.sentences, opts.seed);
  const task: ProbeTask = { name: "replaced?", level: "token", labeler: givenLabeler(corrupted.labels) };
  return opts.models.map(({ model, name }) => ({
    representations: extractRepresentations({ model, sentences: corrupted.sequences, prepared: true, source: name ? { name } : undefined }),
    tasks: [task],
  }));
}

/** Probe every layer of every representation for each of its tasks (with control tasks): all rows, in order. */
export async function probeStudy(opts: {
  runs: readonly { representations: Representations; tasks: readonly ProbeTask[] }[];
  kind?: ProbeKind;
  epochs?: number;
  seed?: number;
}): Promise<LayerProbeRow[]> {
  const rows: LayerProbeRow[] = [];
  for (const run of opts.runs) {
    for (const task of run.tasks) rows.push(...(await probeLayers({ representations: run.representations, task, kind: opts.kind, epochs: opts.epochs, seed: opts.seed })));
  }
  return rows;
}
