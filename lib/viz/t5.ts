// Views for notebook 06 (the transformer seq2seq family, T5, BART): the architectures' attention patterns as
// heatmaps, the architecture and denoising tables beside the papers' numbers, and BART's corruptions of one text.
import { Figure, heatmap } from "./plot";
import { Table, showTable } from "./table";
import { Seq2SeqArchitecture, attentionPatterns } from "../models/seq2seq/architectures";
import { NoiseSpec, applyNoise, describeNoise } from "../data/noising";
import { wordTokenize } from "../data/tokenize";
import type { ArchitectureRun } from "../tasks/architecture_study";
import type { DenoisingRun } from "../tasks/denoising";

/** One heatmap per attention pattern of the architecture: dark = may attend, white = masked. */
export function attentionPatternHeatmaps(architecture: Seq2SeqArchitecture, sourceLength = 4, targetLength = 4): Figure[] {
  return attentionPatterns(architecture, sourceLength, targetLength).map((p) =>
    heatmap({ z: p.allowed, x: p.keys, y: p.queries, title: `${architecture}: ${p.name}`, xLabel: "key (attended to)", yLabel: "query", zmin: 0, zmax: 1, height: 300 }),
  );
}

/** T5 Table 2 at course scale: parameters, FLOPs, speed, exact match (and generalization), the paper's GLUE. */
export function architectureTable(runs: readonly ArchitectureRun[], title: string): Table {
  return showTable(
    runs.map((r) => ({
      architecture: r.config.label,
      parameters: r.parameters,
      "GFLOPs / step": r.flopsPerStep / 1e9,
      "ms / step": r.msPerStep,
      "exact match (test)": r.test.exactMatch,
      ...(r.gen ? { "exact match (gen)": r.gen.exactMatch } : {}),
      "token accuracy (test)": r.test.tokenAccuracy ?? NaN,
      "T5 Table 2 (GLUE)": r.config.paper ?? "",
    })),
    { title, precision: 3, maxRows: runs.length },
  );
}

/** Each corruption applied to one text: words (readable) and the characters the models of section 4 see. */
export function noiseExamplesTable(text: string, noises: readonly NoiseSpec[][], seed = 0): Table {
  const words = wordTokenize(text, { lowercase: false });
  const chars = Array.from(text);
  return showTable(
    [{ noise: "original", words: words.join(" "), characters: text }, ...noises.map((n, i) => ({
      noise: describeNoise(n),
      words: applyNoise(words, n, { mask: "[MASK]", rng: seed + i }).join(" "),
      characters: applyNoise(chars, n, { mask: "_", rng: seed + i }).join(""),
    }))],
    { title: "BART's corruptions of one text (characters: _ is the mask)", maxRows: noises.length + 1 },
  );
}

/** BART Table 1 (BART-base; SQuAD 1.1 F1, MNLI accuracy), for the rows of the denoising study. */
export const BART_TABLE1: Record<string, { squad: number; mnli: number }> = {
  "token masking": { squad: 90.4, mnli: 84.1 },
  "token deletion": { squad: 90.4, mnli: 84.1 },
  "text infilling": { squad: 90.8, mnli: 84.0 },
  "document rotation": { squad: 77.2, mnli: 75.3 },
  "sentence permutation": { squad: 85.4, mnli: 81.5 },
  "text infilling + sentence permutation": { squad: 90.8, mnli: 83.8 },
};

/** BART Table 1 at course scale: each pre-training noise, its held-out reconstruction loss, spelling after fine-tuning. */
export function denoisingTable(runs: readonly DenoisingRun[], title: string): Table {
  return showTable(
    runs.map((r) => ({
      "pre-training noise": r.noise,
      "held-out reconstruction loss (nats/char)": Number.isNaN(r.heldOutLoss) ? "—" : r.heldOutLoss,
      "spelling exact match": r.exactMatch,
      "spelling CER": r.cer,
      "BART SQuAD F1": BART_TABLE1[r.noise]?.squad ?? "—",
      "BART MNLI": BART_TABLE1[r.noise]?.mnli ?? "—",
      "seconds (pre-train + fine-tune)": r.seconds,
    })),
    { title, precision: 3, maxRows: runs.length },
  );
}
