// What the Trainer shows while it trains: a progress line and a live loss plot (lib/viz).
// Kept apart from the loop so the loop reads as the algorithm, and so tests can train silently.
import type { StepInfo, EvalInfo, History } from "./trainer";
import { progress } from "../viz/progress";
import { livePlot } from "../viz/live";
import { inKernel } from "../viz/display";

export interface TrainingDisplay {
  step(info: StepInfo): void;
  eval(info: EvalInfo): void;
  done(history: History): void;
}

export interface DisplayOptions {
  total: number;
  /** Progress line (default true). */
  progress: boolean;
  /** Live loss plot (default: only inside a notebook kernel). */
  plot?: boolean;
  label?: string;
}

export function makeTrainingDisplay(opts: DisplayOptions): TrainingDisplay {
  const bar = opts.progress ? progress({ total: opts.total, label: opts.label ?? "train" }) : null;
  const plot = (opts.plot ?? inKernel()) ? livePlot({ title: "Training curves", xLabel: "step", yLabel: "loss" }) : null;
  let lastEval: EvalInfo | undefined;
  return {
    step(info) {
      bar?.update(info.step, { epoch: info.epoch, loss: info.loss, ...(lastEval?.valScore !== undefined ? { val: lastEval.valScore } : {}) });
      plot?.push("train loss", info.loss, info.step);
    },
    eval(info) {
      lastEval = info;
      if (info.valLoss !== undefined) plot?.push("validation loss", info.valLoss, info.step);
      if (info.valScore !== undefined && info.valScore >= 0) plot?.push("validation score", info.valScore, info.step);
    },
    done(h) {
      const last = h.steps[h.steps.length - 1];
      bar?.done({
        ...(last ? { epoch: last.epoch, loss: last.loss } : {}),
        ...(h.bestScore !== undefined ? { best: h.bestScore } : {}),
        ...(h.stoppedEarly ? { stopped: "early" } : {}),
      });
      plot?.done();
    },
  };
}
