// The one seam between lib/ and a notebook's output area.
//
// Inside a tslab kernel, output goes through tslab's `display` (display_data messages; `newDisplay()` gives a
// display id that later calls overwrite with update_display_data, which Jupyter front ends AND nbclient honour,
// so an executed notebook keeps only the final state). Outside a kernel (tests, scripts, benches) nothing can
// render HTML: a display prints its one-line text fallback, or is recorded by `captureDisplays` for tests.
//
//   show({ html: "<b>hi</b>", text: "hi" });        // kernel: rich output; script: prints "hi"
//   const h = newHandle(); h.show(a); h.show(b);     // kernel: b replaces a in place
//   const { outputs } = captureDisplays(() => show({ html, text }));

/** One thing a helper asked to show. `update` is true when it overwrites the output with the same `id`. */
export interface DisplayOutput {
  html: string;
  text: string;
  id?: string;
  update: boolean;
}

/** What to show: HTML for notebooks, one short line for consoles and logs. */
export interface Showable {
  html: string;
  text: string;
}

/** The part of tslab's public API we use (node_modules/tslab/dist/public.d.ts). */
interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
}
interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

/** A display that overwrites itself: the first show() creates the output, later ones replace it in place. */
export interface DisplayHandle {
  readonly id: string;
  show(what: Showable): void;
}

// --- kernel detection ------------------------------------------------------------------------------------
// tslab's executor sets globalThis.__tslab__ = { exports, require } before running any cell, and that
// `require` hooks "tslab" to the kernel's own instance. Plain node never sets it, so this is exact (and
// avoids loading tslab, which pulls in a TypeScript compiler, in tests and scripts).

function kernelModule(): TslabModule | null {
  const hook = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (!hook || typeof hook.require !== "function") return null;
  try {
    const mod = hook.require("tslab") as Partial<TslabModule> | undefined;
    if (mod && mod.display && typeof mod.newDisplay === "function") return mod as TslabModule;
  } catch {
    // A broken hook means no kernel we can talk to: fall through to the console.
  }
  return null;
}

/** True inside a tslab Jupyter kernel (HTML output renders), false in node scripts and tests. */
export function inKernel(): boolean {
  return kernelModule() !== null;
}

/**
 * The page that output written now goes to: the client session id of the execute_request it belongs to (the
 * course's tslab patch publishes it; a reloaded page or a second tab has a new one), or null outside the kernel.
 * Things a page must receive once (the Plotly bundle) are keyed by it.
 */
export function outputPage(): string | null {
  const read = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for("nlu-course.outputPage")];
  if (typeof read !== "function") return null;
  const page = (read as () => unknown)();
  return typeof page === "string" && page !== "" ? page : null;
}

/**
 * True when nobody watches the output live: the notebook runner (which sets NLU_HEADLESS=1), CI, or a
 * console that is not a terminal. Progress displays use it to print a few plain lines instead of animating.
 */
export function isHeadless(env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = headlessFlag(env);
  if (flag !== undefined) return flag;
  if (env.CI) return true;
  return !process.stderr.isTTY;
}

/** NLU_HEADLESS as set explicitly: true ("1", "true", "yes"), false ("0", "false", "no") or undefined. */
export function headlessFlag(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const flag = (env.NLU_HEADLESS ?? "").trim().toLowerCase();
  if (flag === "1" || flag === "true" || flag === "yes") return true;
  if (flag === "0" || flag === "false" || flag === "no") return false;
  return undefined;
}

// --- capture sink (tests) --------------------------------------------------------------------------------

let sink: DisplayOutput[] | null = null;

/**
 * Run fn with every display recorded instead of shown (in a kernel or not), and return what was recorded.
 * Works with async fn too: recording lasts until its promise settles.
 */
export function captureDisplays<T>(fn: () => T): { result: T; outputs: DisplayOutput[] } {
  const outputs: DisplayOutput[] = [];
  const previous = sink;
  sink = outputs;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    sink = previous;
    throw e;
  }
  if (result instanceof Promise) {
    result.then(
      () => (sink = previous),
      () => (sink = previous),
    );
  } else {
    sink = previous;
  }
  return { result, outputs };
}

/** True inside captureDisplays. */
export function isCapturing(): boolean {
  return sink !== null;
}

/**
 * State that lives once per output session: one captureDisplays call while capturing, otherwise the process
 * (= the kernel session; kept on globalThis because tslab re-evaluates lib/ modules when cells recompile).
 */
export function sessionState(key: string): Record<string, unknown> {
  const store = sink ? sinkStates.get(sink) ?? new Map<string, Record<string, unknown>>() : processStates();
  if (sink) sinkStates.set(sink, store);
  let state = store.get(key);
  if (!state) {
    state = {};
    store.set(key, state);
  }
  return state;
}

const sinkStates = new WeakMap<DisplayOutput[], Map<string, Record<string, unknown>>>();
const PROCESS_STATES = Symbol.for("nlu-course.viz.sessionState");

function processStates(): Map<string, Record<string, unknown>> {
  const g = globalThis as unknown as Record<symbol, Map<string, Record<string, unknown>> | undefined>;
  let store = g[PROCESS_STATES];
  if (!store) {
    store = new Map();
    g[PROCESS_STATES] = store;
  }
  return store;
}

// --- showing -----------------------------------------------------------------------------------------------

let idCounter = 0;

/** A fresh id for a DOM element or display; unique within a process and unlikely to collide across runs. */
export function freshId(prefix: string): string {
  idCounter += 1;
  const salt = Math.floor(Math.random() * 0xffffff).toString(36);
  return `${prefix}-${Date.now().toString(36)}-${salt}-${idCounter}`;
}

function emit(what: Showable, target: TslabDisplay | null, id: string | undefined, update: boolean): void {
  if (sink) {
    sink.push({ html: what.html, text: what.text, id, update });
    return;
  }
  if (target) {
    try {
      target.html(what.html);
      return;
    } catch {
      // tslab throws "Not ready" before its first cell: print the fallback instead of failing the cell.
    }
  }
  if (what.text) console.log(what.text);
}

/** Show once: rich HTML in a kernel, the text line elsewhere. */
export function show(what: Showable): void {
  const mod = sink ? null : kernelModule();
  emit(what, mod ? mod.display : null, undefined, false);
}

/**
 * A display that overwrites itself. In a kernel every show() after the first is an update_display_data;
 * outside a kernel each show() prints its text line, so callers should throttle (progress and livePlot do)
 * or show only the final state there (`quietUntilFinal`: print nothing until `show(x, { final: true })`).
 */
export function newHandle(options: { quietUntilFinal?: boolean } = {}): DisplayHandle & {
  show(what: Showable, opts?: { final?: boolean }): void;
} {
  const id = freshId("nlu-display");
  let target: TslabDisplay | null | undefined; // resolved on first show, when we know where we run
  let shown = false;
  return {
    id,
    show(what: Showable, opts: { final?: boolean } = {}) {
      if (sink) {
        emit(what, null, id, shown);
        shown = true;
        return;
      }
      if (target === undefined) {
        const mod = kernelModule();
        target = mod ? mod.newDisplay() : null;
      }
      if (!target && options.quietUntilFinal && !opts.final) return;
      emit(what, target, id, shown);
      shown = true;
    },
  };
}

// --- values that already showed themselves ---------------------------------------------------------------

/**
 * The mark on a value that has already displayed itself (a chart, a table). A cell's last value is echoed by the
 * kernel; the course's tslab patch skips values with this mark, as IPython's display() returns None, so a cell
 * ending in lineChart(...) shows the chart and no text line under it.
 */
export const DISPLAYED = Symbol.for("nlu-course.displayed");

/**
 * Give a value a one-line form for consoles and logs (`console.log(fig)` in a script prints "[line chart] ...",
 * not the whole figure); with `displayed`, also mark it as already shown (see DISPLAYED). Both properties are
 * non-enumerable: the value stays plain data.
 */
export function summarised<T extends object>(value: T, summary: string, displayed = false): T {
  Object.defineProperty(value, Symbol.for("nodejs.util.inspect.custom"), { value: () => summary, enumerable: false, configurable: true });
  if (displayed) markDisplayed(value);
  return value;
}

/** Mark a value as already shown: a kernel does not echo it when a cell ends with it (see DISPLAYED). */
export function markDisplayed<T extends object>(value: T): T {
  Object.defineProperty(value, DISPLAYED, { value: true, enumerable: false, configurable: true });
  return value;
}

// --- escaping ---------------------------------------------------------------------------------------------

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * JSON that is safe inside an inline <script>: "<" becomes \u003c so no string can close the script
 * ("</script>") or open a comment ("<!--"); U+2028/2029 are escaped for old JS parsers.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * A number for people: integers as they are, others with `digits` significant digits (no exponent for
 * ordinary magnitudes), NaN/Infinity spelled out.
 */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return v.toExponential(Math.max(0, digits - 1));
  return String(Number(v.toPrecision(digits)));
}
