"""Execute notebooks headless through real Jupyter (nbclient + the tslab kernel) and export them to HTML.

Called by scripts/notebooks.mjs with the project's .venv/bin/python; run that instead (`npm run notebooks`).

The course's kernel (tslab with patches/) reports errors as the Jupyter protocol says: execute_reply status
"error" with ename/evalue/traceback, and an IOPub error output. Every code cell must end with status "ok" (or
"error" when tagged raises-exception, the Jupyter convention); anything else - an error, an aborted request, no
reply, a timeout, a dead kernel, an error output from background code (a timer or a promise nobody awaited) -
fails the notebook, naming the cell, its first source line, and the error's name and message from the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

from plotly_bundle import ensure_plotly_bundle

RAISES = "raises-exception"  # the standard Jupyter tag for a cell that is expected to raise
SKIP = "skip-execution"  # nbclient's tag for a cell it does not run

# The lab template without require.js: the exported page must render offline and the course's plots are
# inlined plotly bundles, whose UMD wrapper registers an AMD module instead of window.Plotly when require.js is
# loaded (and the CDN copy of require.js is unreachable offline anyway). MathJax (CDN) is kept only when a
# markdown cell has math: it loads asynchronously after the content and breaks nothing when offline.
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- if resources.nlu_has_math -%}{{ super() }}{%- endif -%}{%- endblock html_head_js_mathjax -%}
"""
MATH = re.compile(r"\$|\\\(|\\\[|\\begin\{")


@dataclass
class Failure:
    cell: int  # 1-based, counting every cell (markdown too), as in the notebook's order
    cells: int
    first_line: str
    reason: str  # e.g. "raised RangeError: boom"
    detail: str = ""  # stderr tail / traceback to show under the summary line


@dataclass
class Result:
    path: Path
    seconds: float = 0.0
    code_cells: int = 0
    executed: int = 0
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 100 else line[:97] + "..."
    return "(empty)"


def error_outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def error_of(cell, reply_content: dict) -> tuple[str, str, list[str]]:
    """(name, message, traceback) of the error a cell raised: the execute_reply's, else its error output's."""
    if reply_content.get("status") == "error" and "ename" in reply_content:
        return reply_content["ename"], reply_content.get("evalue", ""), reply_content.get("traceback", [])
    for o in error_outputs(cell):
        return o.get("ename", "Error"), o.get("evalue", ""), o.get("traceback", [])
    return "unknown error", "the kernel reported an error without a name (see the executed notebook)", []


def tail(lines: list[str], keep: int = 14) -> str:
    """The end of a traceback (ANSI colours removed) for the report."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))
    return "\n".join(text.rstrip().splitlines()[-keep:])


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.root = Path(args.root).resolve()
        self.out = Path(args.out).resolve()
        self.timeout = args.timeout
        self.kernel = args.kernel
        self.html = not args.no_html
        self.mode = os.environ.get("NLU_MODE", "quick") or "quick"

    def relative(self, nb_path: Path) -> Path:
        """Where a notebook's outputs go: relative to notebooks/ when inside it, else to the repo root."""
        for base in (self.root / "notebooks", self.root):
            try:
                return nb_path.relative_to(base)
            except ValueError:
                pass
        return Path(nb_path.name)

    def executed_path(self, nb_path: Path) -> Path:
        return self.out / "notebooks" / self.relative(nb_path)

    def html_path(self, nb_path: Path) -> Path:
        return (self.out / "html" / self.relative(nb_path)).with_suffix(".html")

    # ------------------------------------------------------------------------------------------ execution
    async def execute(self, nb_path: Path) -> tuple[Result, nbformat.NotebookNode]:
        result = Result(nb_path)
        nb = nbformat.read(nb_path, as_version=4)
        replies: dict[int, dict] = {}

        def on_cell_executed(cell, cell_index, execute_reply):
            replies[cell_index] = execute_reply

        client = NotebookClient(
            nb,
            kernel_name=self.kernel,
            timeout=self.timeout,
            startup_timeout=120,
            # As JupyterLab does: stop_on_error=False only for cells tagged raises-exception. nbclient then raises
            # CellExecutionError for an untagged error, which the policy below catches and explains.
            allow_errors=False,
            record_timing=True,
            resources={"metadata": {"path": str(nb_path.parent)}},  # the kernel's cwd = the notebook's folder
            on_cell_executed=on_cell_executed,
        )
        client.reset_execution_trackers()
        cells = nb.cells
        code = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()]
        result.code_cells = len(code)

        def fail(i: int, reason: str, detail: str = "") -> None:
            result.failure = Failure(i + 1, len(cells), first_line(cells[i].source), reason, detail)

        async with client.async_setup_kernel():
            info = await client.async_wait_for_reply(await _maybe_await(client.kc.kernel_info()))
            if info and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]
            for i in code:
                cell = cells[i]
                tags = cell.metadata.get("tags", [])
                if SKIP in tags:
                    continue
                replies.pop(i, None)
                try:
                    await client.async_execute_cell(cell, i, execution_count=client.code_cells_executed + 1)
                except CellExecutionError:
                    pass  # the reply was recorded by on_cell_executed; judged below
                except CellTimeoutError:
                    fail(i, f"timed out after {self.timeout:g} s (raise --timeout or NLU_CELL_TIMEOUT)")
                    break
                except DeadKernelError:
                    fail(i, "the kernel died while running it (out of memory? a crash in native code?)")
                    break
                result.executed += 1
                reply = replies.get(i)
                content = reply.get("content", {}) if reply else {}
                status = content.get("status")
                if reply is None:
                    fail(i, "got no execute_reply from the kernel (treated as not run)")
                elif status in ("abort", "aborted"):
                    fail(i, f"was aborted by the kernel (execute_reply status '{status}'): it did not run, "
                            "usually because an earlier request failed or the kernel was interrupted")
                elif status == "error" and RAISES in tags:
                    continue
                elif status == "error":
                    name, message, traceback = error_of(cell, content)
                    fail(i, f"raised {name}: {message}", tail(traceback))
                elif error_outputs(cell):
                    name, message, traceback = error_of(cell, content)
                    fail(i, f"showed {name}: {message} (thrown by background code - a timer or a promise nobody "
                            "awaited - while this cell ran or just before; it may come from an earlier cell)", tail(traceback))
                elif status != "ok":
                    fail(i, f"ended with execute_reply status '{status}' (expected 'ok')")
                elif RAISES in tags:
                    fail(i, f"is tagged '{RAISES}' but did not raise: make it throw, or remove the tag")
                if result.failure:
                    break
        if result.failure:
            after = [j for j in code if j > result.failure.cell - 1]
            if after:
                result.notes.append(f"{len(after)} later code cell(s) not run")
        return result, nb

    # ------------------------------------------------------------------------------------------ export
    def exporter(self) -> HTMLExporter:
        return HTMLExporter(
            template_name="lab",
            template_file="nlu_offline.html.j2",
            extra_loaders=[DictLoader({"nlu_offline.html.j2": OFFLINE_TEMPLATE})],
            embed_images=True,
        )

    def export_html(self, nb: nbformat.NotebookNode, nb_path: Path) -> Path:
        ensure_plotly_bundle(nb)  # one Plotly bundle before the first chart, however the cells ran
        has_math = any(c.cell_type == "markdown" and MATH.search(c.source) for c in nb.cells)
        resources = {"metadata": {"name": nb_path.stem, "path": str(nb_path.parent)}, "nlu_has_math": has_math}
        body, _ = self.exporter().from_notebook_node(nb, resources=resources)
        dest = self.html_path(nb_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(body, encoding="utf-8")
        return dest

    def write_executed(self, nb: nbformat.NotebookNode, result: Result) -> Path:
        nb.metadata["nlu-course"] = {
            "status": "failed" if result.failure else "ok",
            "mode": self.mode,
            "seconds": round(result.seconds, 1),
        }
        dest = self.executed_path(result.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(ensure_plotly_bundle(nb), dest)
        return dest

    def fresh_copy(self, nb_path: Path) -> nbformat.NotebookNode | None:
        """The executed copy for `export`, if it is newer than the notebook, passed, and ran in this mode."""
        dest = self.executed_path(nb_path)
        if not dest.exists() or dest.stat().st_mtime < nb_path.stat().st_mtime:
            return None
        nb = nbformat.read(dest, as_version=4)
        meta = nb.metadata.get("nlu-course", {})
        return nb if meta.get("status") == "ok" and meta.get("mode") == self.mode else None

    # ------------------------------------------------------------------------------------------ driver
    async def run_one(self, nb_path: Path, action: str) -> Result:
        shown = os.path.relpath(nb_path, Path.cwd())
        if action == "export":
            nb = self.fresh_copy(nb_path)
            if nb is not None:
                dest = self.export_html(nb, nb_path)
                print(f"  exported {shown} -> {os.path.relpath(dest)} (from the executed copy)", flush=True)
                return Result(nb_path, outputs=[dest])
        print(f"  running  {shown} ...", flush=True)
        start = time.monotonic()
        try:
            result, nb = await self.execute(nb_path)
        except Exception as e:  # kernel failed to start, unreadable notebook, ...
            result = Result(nb_path)
            result.failure = Failure(0, 0, "", f"could not be executed: {type(e).__name__}: {e}")
            result.seconds = time.monotonic() - start
            return result
        result.seconds = time.monotonic() - start
        result.outputs.append(self.write_executed(nb, result))
        if self.html or action == "export":
            try:
                result.outputs.append(self.export_html(nb, nb_path))
            except Exception as e:
                if not result.failure:
                    result.failure = Failure(0, 0, "", f"HTML export failed: {type(e).__name__}: {e}")
        return result

    def report(self, result: Result) -> None:
        shown = os.path.relpath(result.path, Path.cwd())
        where = ", ".join(os.path.relpath(p) for p in result.outputs)
        if result.failure is None:
            print(f"  ok       {shown}: {result.executed} code cells in {result.seconds:.1f} s"
                  + (f" -> {where}" if where else ""), flush=True)
        else:
            f = result.failure
            cell = f"cell {f.cell} of {f.cells} (`{f.first_line}`) " if f.cell else ""
            print(f"  FAILED   {shown}: {cell}{f.reason}  [{result.seconds:.1f} s]", flush=True)
            if f.detail:
                print("\n".join("           | " + l for l in f.detail.splitlines()), flush=True)
            if where:
                print(f"           outputs so far: {where}", flush=True)
        for note in result.notes:
            print(f"           note: {note}", flush=True)


async def _maybe_await(x):
    return await x if asyncio.iscoroutine(x) or isinstance(x, asyncio.Future) else x


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "export"])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--no-html", action="store_true")
    args = ap.parse_args()
    runner = Runner(args)
    paths = [Path(p).resolve() for p in args.notebooks]
    print(f"notebooks: {args.action} {len(paths)} notebook(s), NLU_MODE={runner.mode}, kernel {args.kernel}, "
          f"cell timeout {args.timeout:g} s, outputs under {os.path.relpath(runner.out)}/", flush=True)
    start = time.monotonic()
    results = []
    for p in paths:
        r = await runner.run_one(p, args.action)
        runner.report(r)
        results.append(r)
    failed = [r for r in results if r.failure]
    print(f"notebooks: {time.monotonic() - start:.1f} s in all", flush=True)
    for r in failed:
        f = r.failure
        cell = f" cell {f.cell} (`{f.first_line}`)" if f.cell else ""
        print(f"  failed: {os.path.relpath(r.path)}{cell}: {f.reason}", flush=True)
    print(f"notebooks: {len(results) - len(failed)} passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
