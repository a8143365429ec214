// A progress display for long cells: step/total, epoch, loss and other metrics, rate and ETA.
//
// Where it runs decides how it shows (mode "auto"):
//   - Jupyter (tslab kernel): one HTML line with a bar, overwritten in place (update_display_data), at most
//     every 200 ms (2 s under the notebook runner, NLU_HEADLESS=1). The executed notebook keeps the final line.
//   - a terminal: one line on stderr rewritten with '\r'.
//   - logs, CI, NLU_HEADLESS=1 or a non-TTY stderr: a plain line at every 10% and at least every 30 s, then
//     the final line; so a log gets ~12 lines however long the run.
//
//   const bar = progress({ total: steps, label: "train" });
//   for (let step = 1; step <= steps; step++) { ...; bar.update(step, { epoch: `${e}/${epochs}`, loss }); }
//   bar.done();

import { escapeHtml, formatNumber, headlessFlag, inKernel, isCapturing, isHeadless, newHandle } from "./display";

export type Metrics = Record<string, number | string | undefined>;

export type ProgressMode = "auto" | "display" | "tty" | "lines" | "silent";

export interface ProgressOptions {
  /** How many units make 100% (steps, batches, examples). */
  total: number;
  label?: string;
  /** Unit name for the count and the rate. */
  unit?: string;
  mode?: ProgressMode;
  /** Minimum time between redraws for "display" and "tty" (ms). */
  everyMs?: number;
  /** "lines" mode: also print when this long passed since the last line (ms). */
  linesEveryMs?: number;
  /** "lines" and "tty" output (default: stdout lines, stderr '\r' rewrites). */
  write?: (s: string) => void;
  /** A clock in ms, for tests. */
  now?: () => number;
}

export interface Progress {
  /** Set the count of finished units (absolute, not an increment) and the latest metrics. */
  update(n: number, metrics?: Metrics): void;
  /** Add k finished units (default 1). */
  advance(k?: number, metrics?: Metrics): void;
  /** Finish: show the final line (count, metrics, rate, total time). Safe to call twice. */
  done(metrics?: Metrics): void;
  /** The line as it would show now. */
  line(): string;
}

/** Create a progress display; see the file comment for where it shows what. */
export function progress(o: ProgressOptions): Progress {
  if (!o || !Number.isFinite(o.total) || o.total < 1) {
    throw new Error(`progress total (${o?.total}) must be a number >= 1: the count of steps (or batches) to do`);
  }
  const total = o.total;
  const label = o.label ?? "";
  const unit = o.unit ?? "steps";
  const now = o.now ?? Date.now;
  const mode = resolveMode(o.mode ?? "auto");
  const everyMs = o.everyMs ?? (mode === "tty" ? 100 : headlessFlag() ? 2000 : 200);
  const linesEveryMs = o.linesEveryMs ?? 30_000;
  const write =
    o.write ?? (mode === "tty" ? (s: string) => void process.stderr.write(s) : (s: string) => console.log(s));
  const handle = mode === "display" ? newHandle() : null;

  const start = now();
  let n = 0;
  let metrics: Metrics = {};
  let finished = false;
  let lastDraw = -Infinity;
  let lastLineAt = start;
  let lastDecile = 0;
  let ttyWidth = 0;

  const line = (final = false): string => {
    const elapsed = (now() - start) / 1000;
    const pct = Math.min(100, Math.floor((100 * n) / total));
    const parts = [`${label ? label + " " : ""}${n}/${total} ${unit} (${pct}%)`];
    for (const [k, v] of Object.entries(metrics)) {
      if (v === undefined) continue;
      parts.push(`${k} ${typeof v === "number" ? formatNumber(v, 4) : v}`);
    }
    const rate = elapsed > 0 ? n / elapsed : 0;
    if (rate > 0) parts.push(`${formatNumber(rate, 3)} ${unit}/s`);
    if (final) parts.push(`took ${duration(elapsed)}`);
    else if (rate > 0 && n < total) parts.push(`ETA ${duration((total - n) / rate)}`);
    return parts.join(" · ");
  };

  const html = (text: string, final: boolean): string => {
    const pct = Math.min(100, (100 * n) / total);
    const colour = final ? "#54a24b" : "#4c78a8";
    return (
      `<div class="nlu-progress" style="font-family:monospace;font-size:13px;white-space:pre-wrap">` +
      `<span style="display:inline-block;width:160px;height:10px;background:#e5e5e5;vertical-align:middle;margin-right:8px">` +
      `<span style="display:block;height:100%;width:${pct.toFixed(1)}%;background:${colour}"></span></span>` +
      `${escapeHtml(text)}</div>`
    );
  };

  const render = (final: boolean): void => {
    const text = line(final);
    lastDraw = now();
    if (mode === "display") handle!.show({ html: html(text, final), text });
    else if (mode === "tty") {
      // Pad over the previous line: '\r' moves back but does not erase.
      write("\r" + text.padEnd(ttyWidth) + (final ? "\n" : ""));
      ttyWidth = text.length;
    } else if (mode === "lines") {
      write(text);
      lastLineAt = now();
    }
  };

  const update = (count: number, m?: Metrics): void => {
    if (finished) return;
    if (!Number.isFinite(count) || count < 0) throw new Error(`progress update(${count}): the count must be a number >= 0`);
    n = count;
    if (m) metrics = { ...metrics, ...m };
    if (mode === "silent") return;
    if (mode === "lines") {
      // The 100% line is done()'s, with the total time.
      const decile = Math.floor((10 * n) / total);
      if (n < total && (decile > lastDecile || now() - lastLineAt >= linesEveryMs)) {
        lastDecile = Math.max(lastDecile, decile);
        render(false);
      }
      return;
    }
    if (now() - lastDraw >= everyMs) render(false);
  };

  if (mode === "display") render(false); // show "0/total" at once: the cell is visibly working

  return {
    update,
    advance: (k = 1, m?: Metrics) => update(n + k, m),
    done(m?: Metrics) {
      if (finished) return;
      if (m) metrics = { ...metrics, ...m };
      finished = true;
      if (mode !== "silent") render(true);
    },
    line: () => line(finished),
  };
}

function resolveMode(mode: ProgressMode): Exclude<ProgressMode, "auto"> {
  const valid: ProgressMode[] = ["auto", "display", "tty", "lines", "silent"];
  if (!valid.includes(mode)) throw new Error(`progress mode "${mode}" is not one of ${valid.join(", ")}`);
  if (mode !== "auto") return mode;
  if (isCapturing() || inKernel()) return "display";
  return isHeadless() ? "lines" : "tty";
}

/** 12.3 s, 4:05, 1:02:03. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}
