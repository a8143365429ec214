// The classification report as a danfojs DataFrame, for notebooks that want to sort, filter or join results.
// danfojs is loaded on first use only: it takes about a second and most code paths never need it.
import type { DataFrame } from "danfojs-node";
import { classificationReport } from "./metrics";

export function classificationReportFrame(gold: number[], pred: number[], labelNames?: string[]): DataFrame {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see above
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  return new dfd.DataFrame(classificationReport(gold, pred, labelNames));
}
