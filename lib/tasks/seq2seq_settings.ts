// Notebook 05's sizes in one place: quick mode (CI-sized, the default) and full mode (the teaching run) differ
// only here, and every run of the notebook reads them from `seq2seqSettings()`. Checkpoint caches key on these
// values (lib/tasks/seq2seq_runs.ts), so changing one retrains only what it sizes.
import { Mode, MODES, mode as currentMode } from "../mode";

/** A learning rate decaying linearly to 5% at the last step: at a constant rate, COGS dev exact match still
 * swung by ±0.05 late in training (measured while sizing full mode). */
const decay = { kind: "linear", finalFraction: 0.05 } as const;

/**
 * Sizes of notebook 05 for a mode (default: the current NLU_MODE): data slices, model widths and Trainer
 * budgets for the reverse toy task, COGS, Multi30k and spelling, the beam sizes and how many COGS
 * generalization sentences section 5 decodes. Throws on an unknown mode.
 */
export function seq2seqSettings(m: Mode = currentMode()) {
  if (!MODES.includes(m)) throw new Error(`seq2seqSettings mode "${m}" is not a mode: use one of ${MODES.join(", ")}.`);
  const full = m === "full";
  return {
    toy: { trainSize: full ? 6000 : 1500, evalSize: full ? 500 : 200, symbols: 10, length: [3, full ? 18 : 12] as [number, number] },
    toyModel: { embedDim: 32, hidden: full ? 64 : 32, dropout: 0, maxTargetLen: 24 },
    toyTrainer: { batchSize: 32, learningRate: 5e-3, epochs: 1000, maxSteps: full ? 300 : 110, clipNorm: 5 },
    // The real tasks decode without input feeding: measured in section 3, a step was ~3x faster and learned as fast.
    cogs: { trainSize: full ? undefined : 3000, evalSize: full ? 3000 : 150, genPerCategory: full ? 150 : 6 },
    cogsModel: { embedDim: 64, hidden: full ? 128 : 32, dropout: 0.1, inputFeeding: false, maxTargetLen: 160 },
    cogsTrainer: { batchSize: 64, learningRate: 3e-3, epochs: 1000, maxSteps: full ? 1600 : 40, clipNorm: 5, schedule: decay },
    beams: [1, 2, 4, 8],
    /** COGS generalization sentences decoded by every beam size in section 5. */
    decodeSize: full ? 600 : 60,
    m30k: { trainSize: full ? undefined : 3000, evalSize: full ? undefined : 100 },
    m30kModel: { embedDim: full ? 128 : 32, hidden: full ? 128 : 32, dropout: 0.2, inputFeeding: false, maxTargetLen: 60 },
    m30kTrainer: { batchSize: 64, learningRate: 3e-3, epochs: 1000, maxSteps: full ? 1500 : 30, clipNorm: 5, schedule: decay },
    spell: { trainSize: full ? undefined : 3000, devSize: full ? 1000 : 100, testSize: full ? 2000 : 200 },
    spellModel: { embedDim: 32, hidden: full ? 128 : 32, dropout: 0.1, inputFeeding: false, maxTargetLen: 24 },
    spellTrainer: { batchSize: 64, learningRate: 3e-3, epochs: 1000, maxSteps: full ? 2500 : 40, clipNorm: 5, schedule: decay },
  };
}
