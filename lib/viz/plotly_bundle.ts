// The Plotly library (plotly.js-cartesian-dist-min: scatter, bar, heatmap, ... in 1.5 MB), inlined into the
// notebook once per PAGE: charts (lib/viz/plot.ts) are a div + a script that wait for window.Plotly, and the first
// chart a page gets brings the bundle as its own output, just before it. "A page" is the front end the output goes
// to: the course's tslab patch tells the kernel the client session of each request (outputPage()), and a reloaded
// browser tab or a second tab is a new session with no Plotly, so it gets the bundle again. `if (!window.Plotly)`
// guards a page that already has it.
//
// Re-running the cell that held the bundle leaves the live page drawing but the notebook FILE without a bundle.
// Files are therefore fixed where they are written: scripts/plotly_bundle.py (JupyterLab's pre-save hook, set by
// `./course start`, and the exporter) keeps exactly one bundle, just before the first chart, however cells were
// re-run. It finds the bundle by its data-nlu-plotly-bundle attribute and rebuilds it exactly as bundleHtml()
// does (test/plotly-bundle.test.ts checks the two agree).
import { readFileSync } from "fs";
import { inKernel, isCapturing, outputPage, sessionState, show } from "./display";

const BUNDLE_PACKAGE = "plotly.js-cartesian-dist-min";

/** The bundle as one <script> output, byte for byte as scripts/plotly_bundle.py rebuilds it (its comment still
 * names lib/viz/plot.ts, where this code lived: changing it would change every saved bundle). */
export function bundleHtml(): string {
  const path = require.resolve(`${BUNDLE_PACKAGE}/plotly-cartesian.min.js`);
  const version = (require(`${BUNDLE_PACKAGE}/package.json`) as { version: string }).version;
  // "</script" cannot occur in JS except inside strings, regexes and comments, where "<\/" means the same.
  const source = readFileSync(path, "utf8").replace(/<\/script/gi, "<\\/script");
  // The classic notebook (and nbconvert's HTML) may load RequireJS; a UMD bundle that sees `define.amd` or a
  // CommonJS `module` registers itself there instead of setting window.Plotly. Parameters named define,
  // module and exports shadow those globals for the bundle, so it always takes the browser-global path.
  return (
    `<script data-nlu-plotly-bundle="${version}">/* ${BUNDLE_PACKAGE} ${version}, inlined once per notebook by lib/viz/plot.ts */\n` +
    `if (!window.Plotly) { (function (define, module, exports) {\n${source}\n}).call(window); }\n</script>`
  );
}

/**
 * Send the Plotly bundle to the page unless it already has it. "The page" is the front end the output goes to
 * (outputPage(): a reloaded browser tab or a second tab is a new page with no Plotly, and gets the bundle again);
 * without one (scripts, tests' captures) the session counts. Charts call it themselves; call it with
 * { force: true } if the output that held the bundle was cleared (charts then say so instead of drawing).
 */
export function loadPlotly(options: { force?: boolean } = {}): void {
  const state = sessionState("plotly") as { sentTo?: Set<string> };
  const pages = (state.sentTo ??= new Set<string>());
  const page = outputPage() ?? "";
  if (pages.has(page) && !options.force) return;
  if (!inKernel() && !isCapturing()) return; // a node script has no page to load it into
  show({ html: bundleHtml(), text: "" });
  pages.add(page);
}

/** Forget that the bundle was sent: the next chart inlines it again (e.g. after "Clear all outputs"). */
export function resetPlotlyBundle(): void {
  (sessionState("plotly") as { sentTo?: Set<string> }).sentTo?.clear();
}
