// Notebook 08's experiment: the three encoders it looks inside (random init, BERT, ELECTRA: one shape, one
// vocabulary), the sentences it reads, fine-tuning, ELECTRA's corrupted inputs, and the probing runs.
//
// BERT and ELECTRA are notebook 04's own models: the same corpus (IMDB's unlabelled reviews, a WordPiece
// vocabulary, packed windows), the same architecture (pre-LN, ALiBi) and settings, pre-trained by the same call
// (runPretraining) under the same checkpoint names. So after notebook 04 has run, this notebook loads its
// models from checkpoints/ instead of training them again, in quick and in full mode alike.
import { ElectraModel, ElectraObjective } from "../models/electra";
import { TransformerClassifier } from "../models/transformer_classifier";
import { LabelledIds } from "../models/classifier";
import { loadSst2 } from "../data/corpora";
import { Vocab, CLS_ID } from "../data/vocab";
import { Trainer } from "../train/trainer";
import { sized } from "../mode";
import { PretrainingCorpus, preparePretrainingCorpus } from "./pretraining_corpus";
import { PretrainResult, runPretraining, sst2Slice } from "./electra_experiments";
import { electraSettings } from "./electra_study";
import { Representations, extractRepresentations } from "../analysis/extract";
import { LayerProbeRow, ProbeTask, givenLabeler, probeLayers } from "../analysis/probe_tasks";
import { ProbeKind } from "../analysis/probe";

/**
 * Notebook 04's sizes (electraSettings, lib/tasks/electra_study.ts). The two notebooks share pre-trained models
 * through checkpoints/ because both take them from there (test/analysis-views.test.ts checks notebook 04 does).
 */
export function electraLectureSizes() {
  const S = electraSettings();
  return { reviews: S.reviews, vocab: S.vocab, window: S.window, width: S.width, heads: S.heads, layers: S.layers, batch: S.batch, steps: S.steps, lr: S.lr, maskRate: S.maskRate, snapshots: S.snapshots };
}

/** Every size of the study, in one place: quick and full mode differ only here. */
export type StudySizes = ReturnType<typeof electraLectureSizes> & {
  /** SST-2 dev sentences analysed (probes split them by sentence). */
  sentences: number;
  /** SST-2 training sentences for fine-tuning, epochs and learning rate. */
  labelled: number;
  ftEpochs: number;
  ftLr: number;
  /** Probe training epochs (at least 100 steps in any case). */
  probeEpochs: number;
  /** UMAP optimisation epochs. */
  umapEpochs: number;
};

export function studySizes(): StudySizes {
  return {
    ...electraLectureSizes(),
    sentences: sized({ quick: 250, full: 872 }),
    labelled: sized({ quick: 500, full: 1000 }),
    ftEpochs: sized({ quick: 3, full: 5 }),
    ftLr: sized({ quick: 2e-3, full: 1e-3 }),
    probeEpochs: sized({ quick: 6, full: 20 }),
    umapEpochs: sized({ quick: 200, full: 500 }),
  };
}

/** The corpus the encoders learn from and the sentences the notebook looks at, all in one vocabulary. */
export interface StudyData {
  corpus: PretrainingCorpus;
  /** The WordPiece vocabulary (token ids <-> subword strings). */
  vocab: Vocab;
  /** SST-2 dev sentences (never pre-trained or fine-tuned on): subword ids, labels 0/1, text for hover. */
  analysis: { ids: number[][]; labels: number[]; texts: string[] };
  /** SST-2 training sentences for fine-tuning (a seeded pick, as notebook 04's). */
  labelled: LabelledIds[];
}

/** Notebook 04's pre-training corpus and tokenizer, and SST-2 through that tokenizer. */
export async function prepareStudyData(s: StudySizes = studySizes(), opts: { log?: (m: string) => void } = {}): Promise<StudyData> {
  const corpus = await preparePretrainingCorpus({ reviews: s.reviews, vocabSize: s.vocab, windowLength: s.window, log: opts.log });
  const sst = await sst2Slice(corpus.tokenizer, { labelled: s.labelled, seed: 0 });
  const dev = (await loadSst2("dev")).slice(0, s.sentences);
  return {
    corpus, vocab: corpus.tokenizer.vocab, labelled: sst.train,
    analysis: { ids: sst.dev.slice(0, s.sentences).map((x) => x.ids), labels: dev.map((x) => x.label), texts: dev.map((x) => x.text) },
  };
}

export interface StudyEncoders {
  /** The same architecture, never trained: what the other two are compared against. */
  random: ElectraModel;
  bert: ElectraModel;
  electra: ElectraModel;
  /** The pre-training runs (held-out evaluations along the way; `loaded` when they came from checkpoints/). */
  runs: { bert: PretrainResult; electra: PretrainResult };
}

/**
 * Notebook 04's BERT (ALiBi) and ELECTRA (generator ¼ of the width), from checkpoints/ when notebook 04 (or an
 * earlier run of this one) trained them with the same settings, else pre-trained now; and an untrained twin.
 */
export async function studyEncoders(data: StudyData, s: StudySizes = studySizes(), opts: { log?: (m: string) => void } = {}): Promise<StudyEncoders> {
  // Notebook 04's `arch` and `settings`, built by the same call (the checkpoint's cache key depends on them).
  const S4 = electraSettings({ changes: { width: s.width, heads: s.heads, layers: s.layers, maskRate: s.maskRate, steps: s.steps, batch: s.batch, lr: s.lr } });
  const arch = S4.arch;
  const settings = { ...S4.pretrain, snapshots: s.snapshots };
  const run = (name: string, objective: ElectraObjective) =>
    runPretraining({ name: `${S4.runPrefix}-${name}`, model: { ...arch, objective, seed: 0 }, corpus: data.corpus, settings, log: opts.log });
  const bert = await run("bert-alibi", "bert");
  const electra = await run("electra-g0.25-s0", "electra");
  const random = new ElectraModel({ ...arch, objective: "bert", seed: 0, vocabSize: data.vocab.size, maxLen: data.corpus.windowLength + 1 });
  return { random, bert: bert.model, electra: electra.model, runs: { bert, electra } };
}

/**
 * One row per encoder: size, pre-training steps, how far pre-training got on held-out windows (MLM loss against
 * the unigram entropy, the discriminator's AUC), and the SST-2 dev accuracy after fine-tuning.
 */
export function encoderTable(e: StudyEncoders, data: StudyData, accuracy: { bert: number; electra: number }): Record<string, string | number>[] {
  const last = (r: PretrainResult) => r.evals[r.evals.length - 1];
  const mlm = `held-out MLM loss (unigram ${data.corpus.unigramEntropy.toFixed(2)})`;
  const row = (model: string, m: ElectraModel, steps: number, loss: string | number, auc: string | number, acc: string | number) =>
    ({ model, parameters: m.main.paramCount(), "pre-training steps": steps, [mlm]: loss, "discriminator AUC": auc, "SST-2 dev acc, fine-tuned": acc });
  const b = last(e.runs.bert);
  const el = last(e.runs.electra);
  return [
    row("random init", e.random, 0, "", "", ""),
    row("BERT", e.bert, b.step, b.mainMlm, "", accuracy.bert),
    row("ELECTRA", e.electra, el.step, `${el.generatorMlm.toFixed(3)} (generator)`, el.auc, accuracy.electra),
  ];
}

/**
 * Fine-tune a copy of the model's main encoder on the labelled SST-2 slice and score it on the analysed dev
 * sentences; the pre-trained model is left as it was. [CLS] pooling (BERT's recipe; notebook 04 mean-pools) so
 * that the fine-tuned model reads exactly the sequences the pre-trained one reads — [CLS] + words — and CKA
 * can pair their tokens one to one.
 */
export async function fineTune(
  model: ElectraModel, data: StudyData, s: StudySizes = studySizes(), seed = 0,
): Promise<{ classifier: TransformerClassifier; accuracy: number }> {
  // (The classifier is returned, not disposed: the notebook looks inside it.)
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
    for (const task of run.tasks) {
      rows.push(...(await probeLayers({ representations: run.representations, task, kind: opts.kind, epochs: opts.epochs, seed: opts.seed })));
    }
  }
  return rows;
}
