"""Exactly one Plotly bundle in every saved or exported notebook, however its cells were run.

lib/viz/plotly_bundle.ts sends the 1.5 MB Plotly bundle once per page, as an output of the first cell that draws
a chart there; every chart after it is a small script that waits for `window.Plotly`. In a live page that is enough,
but the notebook FILE loses the bundle when the cell that held it is re-run (its outputs are replaced, the kernel
does not send the bundle to that page twice), and a bundle can sit after charts that were run later but stand earlier. Reopened or
exported, such a notebook shows blank charts.

So the file is fixed where it is written: `ensure_plotly_bundle` removes every bundle output and puts one back
just before the first chart output (charts are `class="nlu-plot"` divs; the bundle is the
`data-nlu-plotly-bundle` script). Used by
  - JupyterLab: `pre_save_hook` (./course start sets ContentsManager.pre_save_hook to it), on every save;
  - the exporter: scripts/run_notebooks.py, before writing the executed copy and the HTML.
The bundle is rebuilt exactly as lib/viz/plotly_bundle.ts's bundleHtml() builds it (test/plotly-bundle.test.ts compares).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "plotly.js-cartesian-dist-min"
BUNDLE_ATTR = "data-nlu-plotly-bundle"
CHART_MARK = 'class="nlu-plot"'


@functools.lru_cache(maxsize=2)
def bundle_html(root: Path = ROOT) -> str:
    """The bundle's HTML, byte for byte as lib/viz/plotly_bundle.ts's bundleHtml() makes it."""
    pkg = root / "node_modules" / PACKAGE
    version = json.loads((pkg / "package.json").read_text(encoding="utf-8"))["version"]
    source = re.sub(r"</script", r"<\\/script", (pkg / "plotly-cartesian.min.js").read_text(encoding="utf-8"), flags=re.I)
    return (
        f'<script {BUNDLE_ATTR}="{version}">/* {PACKAGE} {version}, inlined once per notebook by lib/viz/plot.ts */\n'
        f"if (!window.Plotly) {{ (function (define, module, exports) {{\n{source}\n}}).call(window); }}\n</script>"
    )


def _html(output) -> str:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return ""
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else html


def is_bundle(output) -> bool:
    return BUNDLE_ATTR in _html(output)


def is_chart(output) -> bool:
    return CHART_MARK in _html(output)


def ensure_plotly_bundle(nb, root: Path = ROOT):
    """Leave exactly one bundle output, right before the first chart (none if there is no chart). In place; returns nb.

    `nb` is a notebook as a dict (nbformat's NotebookNode, or the JSON content of a contents-manager model).
    A bundle found in the notebook is reused as it is; only a notebook that lost it needs node_modules.
    """
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    found = None
    for cell in cells:
        outputs = cell.get("outputs", [])
        kept = [o for o in outputs if not is_bundle(o)]
        if len(kept) != len(outputs):
            found = found or next(o for o in outputs if is_bundle(o))
            cell["outputs"] = kept
    for cell in cells:
        outputs = cell.get("outputs", [])
        first = next((i for i, o in enumerate(outputs) if is_chart(o)), None)
        if first is None:
            continue
        bundle = found if found is not None else {
            "output_type": "display_data",
            "data": {"text/html": bundle_html(root)},
            "metadata": {},
        }
        outputs.insert(first, bundle)
        break
    return nb


def count_bundles(nb) -> int:
    return sum(is_bundle(o) for c in nb.get("cells", []) for o in c.get("outputs", []))


def pre_save_hook(model, path=None, contents_manager=None, **kwargs):
    """Jupyter server ContentsManager.pre_save_hook: every notebook JupyterLab saves carries the bundle once."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        ensure_plotly_bundle(model["content"])


if __name__ == "__main__":
    # A filter for tests and for fixing a notebook by hand: notebook JSON on stdin -> fixed JSON on stdout.
    import sys

    nb = json.load(sys.stdin)
    json.dump(ensure_plotly_bundle(nb), sys.stdout)
