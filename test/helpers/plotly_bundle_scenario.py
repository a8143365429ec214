"""What a student does to a notebook with charts, driven through real Jupyter; prints the counts as JSON.

Used by test/plotly-bundle.test.ts (run with the project's .venv python). Scenarios, on test/fixtures/two-charts.ipynb:
  rerun:        run all cells, then run the first chart cell again (its outputs are replaced; the kernel does not
                send the Plotly bundle twice);
  out_of_order: run the second chart cell before the first.
Each then saves through Jupyter's contents manager with the course's pre-save hook (as JupyterLab saves) and
exports through the course's runner, counting Plotly bundles in the kernel's outputs, the saved file and the HTML.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import nbformat  # noqa: E402
from jupyter_server.services.contents.filemanager import FileContentsManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbformat.sign import NotebookNotary  # noqa: E402

from plotly_bundle import BUNDLE_ATTR, count_bundles, is_bundle, is_chart  # noqa: E402
from run_notebooks import Runner  # noqa: E402

FIXTURE = ROOT / "test" / "fixtures" / "two-charts.ipynb"


def first_chart_cell(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if any(is_chart(o) for o in c.get("outputs", [])))


def bundle_cell(nb) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if any(is_bundle(o) for o in c.get("outputs", []))), None)


def run(order: list[int], out: Path, name: str) -> dict:
    nb = nbformat.read(FIXTURE, as_version=4)
    client = NotebookClient(nb, kernel_name="tslab", timeout=300, resources={"metadata": {"path": str(FIXTURE.parent)}})
    with client.setup_kernel():
        for i in order:
            client.execute_cell(nb.cells[i], i)
    result = {"kernel_outputs": count_bundles(nb), "kernel_bundle_cell": bundle_cell(nb)}
    # The text a chart or table cell shows besides its HTML (stdout/stderr, echoed values).
    result["stream_text"] = [
        "".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
        for c in nb.cells if c.cell_type == "code"
    ]
    # Save as JupyterLab does: a contents-model PUT runs the pre-save hook, then signs and writes the file.
    folder = out / name
    folder.mkdir(parents=True)
    cm = FileContentsManager(root_dir=str(folder), pre_save_hook="plotly_bundle.pre_save_hook",
                             notary=NotebookNotary(db_file=":memory:", secret=b"test"))  # no signature db in ~
    content = json.loads(nbformat.writes(nb))
    for cell in content["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"]["trusted"] = True  # as JupyterLab marks the cells it ran; the saved file is then signed
    cm.save({"type": "notebook", "format": "json", "content": content}, "saved.ipynb")
    saved = nbformat.read(folder / "saved.ipynb", as_version=4)
    result.update(saved_file=count_bundles(saved), saved_bundle_cell=bundle_cell(saved), saved_first_chart=first_chart_cell(saved))
    result["saved_trusted"] = cm.notary.check_signature(saved)
    # Export as `./course export` does.
    runner = Runner(argparse.Namespace(root=str(ROOT), out=str(out / f"{name}-out"), timeout=300, kernel="tslab",
                                       no_html=False, no_abort_retry=False))
    html = runner.export_html(nbformat.read(folder / "saved.ipynb", as_version=4), folder / "saved.ipynb").read_text(encoding="utf-8")
    result.update(html_bundles=html.count(f"{BUNDLE_ATTR}="), html_charts=html.count('class="nlu-plot"'))
    # And the exporter on the kernel's notebook as it was (not saved through the hook first).
    raw = runner.export_html(nb, folder / "raw.ipynb").read_text(encoding="utf-8")
    result["html_bundles_unsaved"] = raw.count(f"{BUNDLE_ATTR}=")
    result["html_path"] = str(runner.html_path(folder / "saved.ipynb"))
    return result


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="nlu-bundle-"))
    # Code cells: 1 import, 2 first chart, 3 table, 4 second chart.
    report = {
        "rerun": run([1, 2, 3, 4, 2], out, "rerun"),
        "out_of_order": run([1, 4, 3, 2], out, "out_of_order"),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
