"""The course's JupyterLab in a real browser (Playwright driving Chromium), as a student uses it.

The server is `./course start` itself, on a random port with a random token, opening a temporary folder of
notebooks written by the tests. Screenshots of each step go to out/test-browser/ (look at them when a test
fails). Chromium is the system's (Debian: apt-get install chromium; .ci/run installs it), found as NLU_CHROMIUM,
then chromium / chromium-browser / google-chrome on PATH, then Playwright's own download; without one the tests
fail and say how to get one - they never skip.

    npm run test:browser                  # all
    npm run test:browser -- -k stop       # a subset (unittest's -k)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

import nbformat
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "test-browser"
KERNEL = "TypeScript (nlu-course)"
HOMEWORK = ("hw_attention", "hw_electra", "hw_seq2seq")
# Generous: under load a kernel takes ~10 s to start and importing the Trainer (compiling lib/) ~20 s more.
SLOW = 240_000


def find_chromium() -> str | None:
    for candidate in (os.environ.get("NLU_CHROMIUM"), *map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # then Playwright's own browser, if `python -m playwright install chromium` was run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "tslab", "display_name": KERNEL, "language": "typescript"}}
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags} if tags else {}) for src, tags in cells]
    nbformat.write(nb, path)


class CourseJupyterLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        # Inside out/ (git-ignored), so that notebooks reach lib/ by a relative import, as notebooks/ does.
        cls.folder = Path(tempfile.mkdtemp(prefix="notebooks-", dir=SHOTS))
        lib = os.path.relpath(ROOT / "lib", cls.folder)
        helpers = os.path.relpath(ROOT / "test" / "helpers", cls.folder)
        notebook(cls.folder / "train.ipynb", [
            (f'import {{ Trainer }} from "{lib}/train/trainer";\nimport {{ ToyMlp, xorData }} from "{helpers}/toy";', []),
            ("const model = new ToyMlp(2, 8, 1);\n"
             "const trainer = new Trainer(model, { batchSize: 8, epochs: 100000 });\n"
             "const history = await trainer.fit(xorData(64));", []),
            ("[trainer.history.interrupted, trainer.history.steps.length]", []),
        ])
        notebook(cls.folder / "chart.ipynb", [
            (f'import {{ lineChart }} from "{lib}/viz/plot";\nlineChart({{ title: "loss", series: [{{ name: "train", y: [3, 2, 1.5, 1] }}] }});', []),
        ])
        notebook(cls.folder / "long.ipynb", [
            ('for (let i = 1; i <= 9; i++) { await new Promise((r) => setTimeout(r, 5000)); console.log(`${5 * i} s`); }', []),
        ])
        notebook(cls.folder / "run-all.ipynb", [
            ('console.log("one");', []),
            ('throw new Error("this cell is meant to fail");', ["raises-exception"]),
            ('await new Promise((r) => setTimeout(r, 3000));\nconsole.log("three");', []),
            ('await new Promise((r) => setTimeout(r, 3000));\nconsole.log("four");', []),
            ('console.log("five");', []),
        ])
        # The student version of every assignment, released by nbgrader as `./course release` does, in a scratch
        # course folder inside the served one (its lib/ is a link to the library, so ../../lib resolves).
        cls.make_course()
        release = subprocess.run(
            [str(ROOT / "course"), "release", *HOMEWORK], env={**os.environ, "NLU_HOMEWORK_DIR": str(cls.folder / "course")},
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        if release.returncode != 0:
            raise RuntimeError(f"./course release failed:\n{release.stdout}\n{release.stderr}")
        cls.port, cls.token = free_port(), secrets.token_hex(16)
        cls.log = open(SHOTS / "server.log", "w")
        cls.server = subprocess.Popen(
            [str(ROOT / "course"), "start", "--no-browser", "--ip=127.0.0.1", f"--port={cls.port}",
             f"--IdentityProvider.token={cls.token}", f"--ServerApp.root_dir={cls.folder}",
             f"--LabApp.workspaces_dir={cls.folder}/.workspaces", f"--LabApp.user_settings_dir={cls.folder}/.settings"],
            stdout=cls.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        cls.addClassCleanup(shutil.rmtree, cls.folder, True)
        cls.addClassCleanup(cls.stop_server)
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{cls.url('api/status')}", timeout=2)
                break
            except OSError:
                if cls.server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"./course start did not serve; see {SHOTS / 'server.log'}")
                time.sleep(0.5)
        chromium = find_chromium()
        cls.playwright = sync_playwright().start()
        cls.addClassCleanup(cls.playwright.stop)
        try:
            cls.browser = cls.playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        except Exception as e:
            raise RuntimeError(
                "no Chromium for the browser tests: install one (Debian/Ubuntu: sudo apt-get install chromium; "
                "elsewhere: .venv/bin/python -m playwright install chromium) or set NLU_CHROMIUM=/path/to/chrome. "
                f"({e})") from e
        cls.addClassCleanup(cls.browser.close)

    @classmethod
    def make_course(cls) -> None:
        course = cls.folder / "course"
        (course / "source").mkdir(parents=True)
        shutil.copyfile(ROOT / "homework" / "nbgrader_config.py", course / "nbgrader_config.py")
        for a in HOMEWORK:
            (course / "source" / a).symlink_to(ROOT / "homework" / "source" / a)

    @classmethod
    def stop_server(cls) -> None:
        # Kernels run in sessions of their own: shut each one down through the server's API first, so that none
        # outlives the tests (one did, when the server was stopped with kernels still open).
        try:
            with urllib.request.urlopen(cls.url("api/kernels"), timeout=10) as r:
                kernels = json.load(r)
            for k in kernels:
                urllib.request.urlopen(urllib.request.Request(cls.url(f"api/kernels/{k['id']}"), method="DELETE"), timeout=30).close()
        except OSError:
            pass
        try:
            os.killpg(cls.server.pid, signal.SIGINT)  # as Ctrl-C: Jupyter shuts its kernels down
            cls.server.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(cls.server.pid, signal.SIGKILL)
        cls.log.close()

    @classmethod
    def url(cls, path: str, query: str = "") -> str:
        return f"http://127.0.0.1:{cls.port}/{path}?{query + '&' if query else ''}token={cls.token}"

    def setUp(self) -> None:
        self.page: Page = self.browser.new_page(viewport={"width": 1400, "height": 900})
        self.addCleanup(self.page.close)

    # ------------------------------------------------------------------------------------------- helpers
    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def open(self, name: str = "") -> None:
        """JupyterLab in a workspace of its own (no tabs restored from another test), opening notebook `name`."""
        workspace = f"lab/workspaces/{self._testMethodName.replace('_', '-')}"
        self.page.goto(self.url(f"{workspace}/tree/{name}" if name else workspace, "reset"))
        if name:
            self.page.wait_for_selector(f"text={KERNEL} | Idle", timeout=SLOW)
        else:
            self.page.wait_for_selector("#jp-main-dock-panel", timeout=SLOW)
        # JupyterLab asks (once per settings folder, here a temporary one) about news: answer, for clear screenshots.
        news = self.page.locator(".jp-toast-button", has_text="No")
        if news.count():
            news.first.click()

    def close_session(self, name: str) -> None:
        """Shut down the kernel of notebook `name`, so later tests see only their own (e.g. in the kernel picker)."""
        with urllib.request.urlopen(self.url("api/sessions"), timeout=10) as r:
            sessions = json.load(r)
        for s in sessions:
            if s.get("path", "").endswith(name):
                urllib.request.urlopen(urllib.request.Request(self.url(f"api/sessions/{s['id']}"), method="DELETE"), timeout=30).close()

    def panel(self):
        """The notebook on screen."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def cells(self):
        return self.panel().locator(".jp-Notebook .jp-CodeCell")

    def prompts(self) -> list[str]:
        return [p.strip() for p in self.panel().locator(".jp-Notebook .jp-InputArea-prompt").all_inner_texts()]

    def output(self, i: int) -> str:
        return "\n".join(self.cells().nth(i).locator(".jp-OutputArea-output").all_inner_texts())

    def kernel_status(self) -> str:
        text = self.page.locator("#jp-main-statusbar").inner_text()
        m = re.search(rf"{re.escape(KERNEL)} \| (\w+)", text)
        return m.group(1) if m else text

    def toolbar(self, command: str):
        return self.panel().locator(f'jp-button[data-command="{command}"]')

    def run_cell(self, i: int) -> None:
        self.cells().nth(i).locator(".jp-InputArea-prompt").click()
        self.toolbar("notebook:run-cell-and-select-next").click()

    def wait_done(self, i: int, timeout: float = SLOW) -> str:
        """Until cell i shows an execution count; returns it."""
        self.page.wait_for_function(
            "i => { const ps = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt');"
            " return ps[i] && /^\\[\\d+\\]:$/.test(ps[i].textContent.trim()); }",
            arg=i, timeout=timeout)
        return self.prompts()[i]

    def progress_step(self) -> int:
        text = self.panel().locator(".nlu-progress").last.inner_text()
        m = re.search(r"train (\d+)/\d+ steps", text)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    # ------------------------------------------------------------------------------------------- tests
    def test_stop_button_stops_training_and_keeps_the_model(self) -> None:
        self.open("train.ipynb")
        self.run_cell(0)
        self.wait_done(0)
        self.run_cell(1)
        self.page.wait_for_function(
            "() => { const p = [...document.querySelectorAll('.nlu-progress')].pop();"
            " const m = p && /train (\\d+)\\//.exec(p.textContent); return m && Number(m[1]) >= 40; }", timeout=SLOW)
        self.shot("stop-1-training")
        self.toolbar("notebook:interrupt-kernel").click()
        self.wait_done(1, timeout=30_000)
        stopped = self.progress_step()
        out = self.output(1)
        m = re.search(r"training interrupted at step (\d+) of \d+; the model keeps the weights trained so far", out)
        self.assertIsNotNone(m, out)
        step = int(m.group(1))
        self.assertEqual(out.count("training interrupted"), 1, out)
        self.assertNotIn("InterruptedError", out, "the cell shows one line, not an error")
        self.shot("stop-2-stopped")
        time.sleep(2)
        self.assertEqual(self.progress_step(), stopped, "the progress bar moved after the stop")
        self.assertLessEqual(abs(stopped - step), 1)

        self.run_cell(2)
        self.wait_done(2)
        self.assertEqual(self.output(2).strip(), f"[ true, {step} ]", "the next cell sees the partially trained model")
        before = (self.output(1), self.output(2))
        time.sleep(2)
        self.assertEqual((self.output(1), self.output(2)), before, "late output appeared after the stop")
        self.assertEqual(self.kernel_status(), "Idle")
        self.shot("stop-3-next-cell")

    def test_a_reloaded_page_draws_charts_from_the_running_kernel(self) -> None:
        drawn = ".jp-NotebookPanel:not(.lm-mod-hidden) .nlu-plot .main-svg"
        self.open("chart.ipynb")
        self.addCleanup(self.close_session, "chart.ipynb")
        self.run_cell(0)
        self.wait_done(0)
        self.page.wait_for_selector(drawn, timeout=SLOW)
        self.shot("reload-1-drawn")
        # The browser reloads (F5) while the kernel keeps running: the new page has no Plotly yet.
        self.page.reload()
        self.page.wait_for_selector(f"text={KERNEL} | Idle", timeout=SLOW)
        self.run_cell(0)
        self.wait_done(0)
        self.page.wait_for_selector(drawn, timeout=30_000)
        self.assertNotIn("Plot not drawn", self.output(0))
        self.shot("reload-2-drawn-again")

    def test_the_kernel_connection_stays_up_through_a_cell_longer_than_the_websocket_ping(self) -> None:
        # The server pings every 30 s; a misconfigured pong timeout closed every connection at its first ping and
        # the status bar said "Unknown" for the rest of any long cell (found by a student trial).
        self.open("long.ipynb")
        self.addCleanup(self.close_session, "long.ipynb")
        self.run_cell(0)
        self.page.wait_for_function("() => document.querySelector('#jp-main-statusbar').innerText.includes('| Busy')", timeout=SLOW)
        statuses = set()
        deadline = time.monotonic() + 120
        while "40 s" not in self.output(0):
            self.assertLess(time.monotonic(), deadline, f"the cell did not finish: {self.output(0)!r}")
            statuses.add(self.kernel_status())
            time.sleep(1)
        self.wait_done(0)
        self.assertEqual(statuses, {"Busy"}, "the kernel's status while the 45 s cell ran")
        self.assertEqual(self.output(0).strip().split("\n"), [f"{5 * i} s" for i in range(1, 10)])
        self.assertNotIn("WebSocket ping timeout", (SHOTS / "server.log").read_text())

    def test_run_all_keeps_queued_cells_busy_after_an_expected_error(self) -> None:
        self.open("run-all.ipynb")
        self.page.locator("#jp-menu-panel >> text=Run").first.click()
        self.page.locator('#jp-mainmenu-run >> text="Run All Cells"').click()
        # Once the raises-exception cell has failed, the rest are still queued: [*] and Busy.
        self.panel().locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").first.wait_for(timeout=SLOW)
        self.assertIn("Error: this cell is meant to fail", self.output(1))
        self.assertEqual(self.prompts()[2:], ["[*]:", "[*]:", "[*]:"])
        self.assertEqual(self.kernel_status(), "Busy")
        self.shot("run-all-1-after-expected-error")
        seen = []
        deadline = time.monotonic() + SLOW / 1000
        while any(p == "[*]:" for p in self.prompts()):
            prompts, status = self.prompts(), self.kernel_status()
            seen.append((prompts, status))
            if "[*]:" in prompts:
                self.assertEqual(status, "Busy", f"Idle while cells were queued: {prompts}")
                self.assertNotIn("[ ]:", prompts[2:], f"a queued cell lost its [*]: {prompts}")
            self.assertLess(time.monotonic(), deadline, seen[-3:])
            time.sleep(0.25)
        self.page.wait_for_selector(f"text={KERNEL} | Idle", timeout=30_000)
        prompts = self.prompts()
        self.assertTrue(all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), prompts)
        self.assertEqual([int(p[1:-2]) for p in prompts], list(range(int(prompts[0][1:-2]), int(prompts[0][1:-2]) + 5)))
        self.assertEqual([self.output(i).strip() for i in (2, 3, 4)], ["three", "four", "five"])
        self.shot("run-all-2-done")

    def test_file_new_notebook_opens_the_typescript_kernel(self) -> None:
        self.open()
        self.page.locator("#jp-menu-panel >> text=File").first.click()
        self.page.locator("#jp-mainmenu-file >> text=New").first.click()
        self.page.locator("#jp-mainmenu-file-new >> text=Notebook").first.click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=SLOW)
        select = dialog.locator("select")
        chosen = select.evaluate("s => s.options[s.selectedIndex].text")
        self.shot("new-notebook-1-dialog")
        self.assertEqual(chosen, KERNEL)
        self.assertEqual(select.locator("option").all_inner_texts(), [KERNEL, "No Kernel"])
        dialog.locator("button", has_text="Select").click()
        self.page.wait_for_selector(f"text={KERNEL} | Idle", timeout=SLOW)
        editor = self.panel().locator(".jp-CodeCell .cm-content").first
        editor.click()
        editor.type("const answer: number = 42;\nanswer")
        self.page.keyboard.press("Shift+Enter")
        self.wait_done(0)
        self.assertEqual(self.output(0).strip(), "42")
        self.shot("new-notebook-2-ran")

    def test_released_homework_opens_with_the_typescript_kernel(self) -> None:
        """The student version of each assignment opens with the TypeScript kernel, and its first cell runs."""
        for assignment in HOMEWORK:
            with self.subTest(assignment=assignment):
                self.open(f"course/release/{assignment}/{assignment}.ipynb")
                self.assertEqual(self.kernel_status(), "Idle")
                self.run_cell(0)
                self.wait_done(0)
                cell = self.cells().nth(0)
                errors = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
                self.assertEqual(errors, 0, self.output(0))
                self.assertIn("backend:", self.output(0), "the first cell picks the compute backend")
                self.shot(f"homework-{assignment}")


if __name__ == "__main__":
    unittest.main()
