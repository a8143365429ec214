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
  /** Name of the validation score ("macroF1", "accuracy", "score"); undefined when the score is minus the loss. */
  scoreName?: string;
}

/**
 * The progress line and the plot read the same numbers: each evaluation updates both, so the final line shows
 * the last evaluation, the one the chart ends on. Losses (nats) are on the left axis, the score on the right.
 */
export function makeTrainingDisplay(opts: DisplayOptions): TrainingDisplay {
  const bar = opts.progress ? progress({ total: opts.total, label: opts.label ?? "train" }) : null;
  const score = opts.scoreName ? `validation ${opts.scoreName}` : undefined;
  const plot = (opts.plot ?? inKernel())
    ? livePlot({ title: "Training curves", xLabel: "step", yLabel: "loss", y2Label: score, rightAxis: score ? [score] : [] })
    : null;
  return {
    step(info) {
      bar?.update(info.step, { epoch: info.epoch, loss: info.loss });
      plot?.push("train loss", info.loss, info.step);
    },
    eval(info) {
      bar?.update(info.step, {
        "val loss": info.valLoss,
        ...(opts.scoreName && info.valScore !== undefined ? { [`val ${opts.scoreName}`]: info.valScore } : {}),
      });
      if (info.valLoss !== undefined) plot?.push("validation loss", info.valLoss, info.step);
      if (score && info.valScore !== undefined) plot?.push(score, info.valScore, info.step);
    },
    done(h) {
      const last = h.steps[h.steps.length - 1];
      bar?.done({
        ...(last ? { epoch: last.epoch, loss: last.loss } : {}),
        // The best validation score, in the same units as the line above it (the score is minus the loss when
        // the metric is the loss).
        ...(h.bestScore !== undefined ? { [`best val ${opts.scoreName ?? "loss"}`]: opts.scoreName ? h.bestScore : -h.bestScore } : {}),
        ...(h.stoppedEarly ? { stopped: "early" } : {}),
      });
      plot?.done();
    },
  };
}
