"""The course kernel against the Jupyter messaging spec, one test class per numbered item of issue 10.

Each test failed on tslab 1.0.22 with the course's earlier patch (see README, "Tests"). Run:
    npm run test:kernel                 # this file and test_conformance.py
    npm run test:kernel -- -k Interrupt # a subset (unittest's -k)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import unittest
import uuid
from pathlib import Path

import nbformat
import zmq
from jupyter_client.session import Session as ZmqSession
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from kernel_session import FIXTURES, KERNEL_NAME, ROOT, Session

# Short enough for tests, long enough for a training step on a busy machine.
GRACE_MS = 1500
TRAIN = """import { Trainer } from "../../lib/train/trainer";
import { ToyMlp, xorData } from "../helpers/toy";
const model = new ToyMlp(2, 8, 1);
const trainer = new Trainer(model, {
  progress: false, plot: false, batchSize: 8, epochs: 100000,
  onStep: (s) => { if (s.step % 25 === 0) console.log(`step ${s.step}`); },
});
const hist = await trainer.fit(xorData(64));
console.log("fit returned");
"""


def ts_version() -> str:
    return json.loads((ROOT / "node_modules/@tslab/typescript-for-tslab/package.json").read_text())["version"]


ENV = {"TSLAB_INTERRUPT_GRACE_MS": str(GRACE_MS)}
_shared: Session | None = None


def tearDownModule() -> None:
    if _shared is not None:
        _shared.close()


class KernelTestCase(unittest.TestCase):
    """The classes share one kernel (a start costs seconds; each test leaves it usable for the next), unless they
    need other settings (`env`), then they get their own."""

    env: dict = ENV
    k: Session

    @classmethod
    def setUpClass(cls) -> None:
        global _shared
        if cls.env is ENV:
            _shared = _shared or Session(env=ENV)
            cls.k = _shared
        else:
            cls.k = Session(env=cls.env)
            cls.addClassCleanup(cls.k.close)

    def assertOk(self, r) -> None:
        self.assertEqual(r.status, "ok", f"reply {r.content}; outputs {r.outputs}")

    def assertNoInternalFrames(self, traceback: list[str]) -> None:
        text = "\n".join(traceback)
        for internal in ("evalmachine", "node:vm", "node:internal", "tslab/dist", "__tslab_cell_", ".js:"):
            self.assertNotIn(internal, text, f"internal frame '{internal}' in traceback:\n{text}")


class Item1InterruptStopsTheWork(KernelTestCase):
    def test_stop_ends_awaited_training_within_a_step_and_keeps_the_model(self) -> None:
        r = self.k.send(TRAIN)
        self.k.wait_output(r, lambda r: "step 50" in r.stream(), timeout=120)
        t0 = time.monotonic()
        self.k.interrupt()
        self.k.wait(r, timeout=30)
        stopped_after = time.monotonic() - t0
        self.assertOk(r)  # fit() returned normally, with what it learned
        out = r.stream()
        m = re.search(r"training interrupted at step (\d+) of (\d+); the model keeps the weights trained so far", out)
        self.assertIsNotNone(m, out)
        self.assertIn("fit returned", out)
        self.assertLess(stopped_after, 5, "the stop took too long")
        step = int(m.group(1))

        # The next cell sees the partially trained model; the global flag is clear again.
        after = self.k.execute(
            'import { interruptRequested } from "../../lib/interrupt";\n'
            "[hist.interrupted, trainer.history.steps.length, model.trainableVariables().length, interruptRequested()]"
        )
        self.assertOk(after)
        self.assertEqual(after.result_text(), f"[ true, {step}, 4, false ]")

        # Training really stopped: no step runs and nothing prints in the next 1.5 s.
        late = self.k.execute("await new Promise((r) => setTimeout(r, 1500));\ntrainer.history.steps.length")
        self.assertEqual(late.result_text(), str(step))
        self.assertEqual(late.stream(), "")

    def test_work_a_stopped_cell_left_behind_cannot_print_into_later_cells(self) -> None:
        r = self.k.send(
            "let ticks = 0;\n"
            "setInterval(() => { ticks++; console.log(`tick ${ticks}`); }, 30);\n"
            "(async () => { for (;;) { await new Promise((r) => setTimeout(r, 40)); console.log('loop'); } })();\n"
            "await new Promise((r) => setTimeout(r, 600000));"
        )
        self.k.wait_output(r, lambda r: "tick 3" in r.stream(), timeout=60)
        self.k.interrupt()
        self.k.wait(r, timeout=GRACE_MS / 1000 + 20)
        self.assertEqual(r.status, "error")
        self.assertEqual(r.content["ename"], "InterruptedError")
        nxt = self.k.execute("const before = ticks;\nawait new Promise((r) => setTimeout(r, 800));\nticks - before")
        self.assertEqual(nxt.result_text(), "0", "the interrupted cell's timer kept running")
        self.assertEqual(nxt.stream(), "", "the interrupted cell printed into a later cell")
        self.k.drain(0.5)
        late = [m for m in self.k.iopub_log if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") != r.msg_id
                and ("tick" in m["content"]["text"] or "loop" in m["content"]["text"])]
        self.assertEqual(late, [])

    def test_synchronous_endless_loop_stops_and_keeps_its_variable(self) -> None:
        r = self.k.send("let i = 0;\nwhile (true) i++;")
        time.sleep(1.5)
        self.k.interrupt()
        self.k.wait(r, timeout=30)
        self.assertEqual(r.status, "error")
        self.assertEqual(r.content["ename"], "InterruptedError")
        self.assertEqual(self.k.execute("i > 1000").result_text(), "true")  # item 4: declarations kept

    def test_interrupt_aborts_the_cells_queued_behind(self) -> None:
        first = self.k.send("await new Promise((r) => setTimeout(r, 600000));")
        queued = [self.k.send(f"console.log('queued {n} ran')") for n in range(2)]
        time.sleep(1.0)
        self.k.interrupt()
        for q in queued:
            self.k.wait(q, timeout=30)
            self.assertEqual(q.status, "aborted")
            self.assertEqual(q.stream(), "")
        self.k.wait(first, timeout=30)
        self.assertEqual(self.k.execute("1 + 1").result_text(), "2", "the kernel is usable after the stop")


class Item1SecondStopPress(KernelTestCase):
    env = {"TSLAB_INTERRUPT_GRACE_MS": "30000"}

    def test_a_second_press_cuts_a_cell_off_without_waiting_for_the_grace_period(self) -> None:
        r = self.k.send("await new Promise((r) => setTimeout(r, 600000));")
        time.sleep(1.0)
        t0 = time.monotonic()
        self.k.interrupt()
        time.sleep(0.5)
        self.k.interrupt()
        self.k.wait(r, timeout=60)
        self.assertEqual(r.content.get("ename"), "InterruptedError")
        self.assertLess(time.monotonic() - t0, 10, "the second press did not cut the cell off")


class Item2ErrorsAreJupyterErrors(KernelTestCase):
    def test_runtime_error_has_ename_evalue_traceback_and_an_iopub_error(self) -> None:
        r = self.k.execute('const width = 128;\nthrow new RangeError(`heads (3) must divide width (${width})`);')
        self.assertEqual(r.status, "error")
        self.assertEqual(r.content["ename"], "RangeError")
        self.assertEqual(r.content["evalue"], "heads (3) must divide width (128)")
        errors = r.of_type("error")
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["ename"], "RangeError")
        tb = r.content["traceback"]
        self.assertEqual(tb, errors[0]["traceback"])
        self.assertEqual(tb[0], "RangeError: heads (3) must divide width (128)")
        self.assertIn(f"    at Cell In[{r.content['execution_count']}], line 2", tb)
        self.assertNoInternalFrames(tb)
        self.assertEqual(r.stream("stderr"), "", "the error is an error output, not stderr text")

    def test_error_thrown_in_lib_points_at_the_ts_line(self) -> None:
        source = (ROOT / "lib/viz/progress.ts").read_text().splitlines()
        line = next(i + 1 for i, l in enumerate(source) if "throw new Error(`progress total (" in l)
        r = self.k.execute(
            'import { progress } from "../../lib/viz/progress";\n'
            "function start(total: number) {\n  return progress({ total });\n}\nstart(0);"
        )
        self.assertEqual(r.status, "error")
        tb = r.content["traceback"]
        self.assertTrue(any(re.search(rf"at progress \(\.\./\.\./lib/viz/progress\.ts:{line}:\d+\)", l) for l in tb), "\n".join(tb))
        n = r.content["execution_count"]
        self.assertIn(f"    at Cell In[{n}], line 3 in start", tb)
        self.assertIn(f"    at Cell In[{n}], line 5", tb)
        self.assertNoInternalFrames(tb)

    def test_a_deep_recursion_shows_its_frame_once(self) -> None:
        r = self.k.execute("function down(n: number): number {\n  return down(n + 1) + 1;\n}\ndown(0);")
        self.assertEqual((r.content["ename"], r.content["evalue"]), ("RangeError", "Maximum call stack size exceeded"))
        tb = r.content["traceback"]
        self.assertIn(f"    at Cell In[{r.content['execution_count']}], line 2 in down", tb)
        self.assertTrue(any(re.fullmatch(r"    \.\.\. the frame above \d+ more times", l) for l in tb), tb)
        self.assertLess(len(tb), 8, tb)

    def test_compile_error_keeps_code_and_cell_line(self) -> None:
        r = self.k.execute('const ok = 1;\nconst n: number = "not a number";')
        self.assertEqual(r.status, "error")
        self.assertEqual(r.content["ename"], "TSError")
        self.assertIn("TS2322", r.content["evalue"])
        self.assertIn("line 2", r.content["evalue"])
        self.assertIn("TS2322", "\n".join(r.of_type("error")[0]["traceback"]))

    def test_nbclient_sees_the_error_name_and_value(self) -> None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("const x = 1;"), nbformat.v4.new_code_cell('throw new TypeError("bad input");')]
        client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=60, resources={"metadata": {"path": str(FIXTURES)}})
        with self.assertRaises(CellExecutionError) as caught:
            client.execute()
        self.assertEqual(caught.exception.ename, "TypeError")
        self.assertEqual(caught.exception.evalue, "bad input")
        self.assertEqual(nb.cells[1].outputs[0]["output_type"], "error")


    def test_an_error_thrown_by_a_timer_while_no_cell_runs_shows_in_the_next_cell(self) -> None:
        self.assertOk(self.k.execute('const t = setTimeout(() => { throw new RangeError("while idle"); }, 50);'))
        time.sleep(1.0)
        nxt = self.k.execute("1")
        self.assertOk(nxt)  # the error is not this cell's, but it shows here instead of nowhere
        self.assertEqual([(e["ename"], e["evalue"]) for e in nxt.of_type("error")], [("RangeError", "while idle")])


class Item3OnlyQueuedRequestsAreAborted(KernelTestCase):
    def test_a_request_sent_right_after_the_error_reply_runs(self) -> None:
        r = self.k.execute('throw new Error("first");')
        self.assertEqual(r.status, "error")
        nxt = self.k.execute("console.log('second ran')")  # within a few ms of the error reply
        self.assertOk(nxt)
        self.assertEqual(nxt.stream(), "second ran\n")

    def test_requests_queued_behind_an_error_are_aborted_with_status_aborted(self) -> None:
        bad = self.k.send('throw new Error("stop here");')
        queued = [self.k.send(f"console.log('queued {n}')") for n in range(3)]
        self.k.wait(bad)
        for q in queued:
            self.k.wait(q)
            self.assertEqual(q.status, "aborted")
            self.assertEqual(q.outputs, [])
        self.assertOk(self.k.execute("1"))

    def test_stop_on_error_false_lets_queued_requests_run(self) -> None:
        bad = self.k.send('throw new Error("expected");', stop_on_error=False)
        after = self.k.send("console.log('after ran')")
        self.k.wait(bad)
        self.k.wait(after)
        self.assertEqual(bad.status, "error")
        self.assertOk(after)
        self.assertEqual(after.stream(), "after ran\n")


class Item4DeclarationsSurviveAFailingCell(KernelTestCase):
    def test_declarations_before_a_throw_are_kept(self) -> None:
        self.assertEqual(self.k.execute("const k = 41;\nthrow new Error('after k');").status, "error")
        r = self.k.execute("k + 1")
        self.assertOk(r)
        self.assertEqual(r.result_text(), "42")

    def test_a_declaration_the_cell_never_reached_keeps_its_old_value(self) -> None:
        self.assertOk(self.k.execute("const model = 'trained for minutes';"))
        self.assertEqual(self.k.execute("throw new Error('early');\nconst model = 'new';").status, "error")
        self.assertEqual(self.k.execute("model").result_text(), "'trained for minutes'")

    def test_declarations_of_an_interrupted_async_cell_are_kept(self) -> None:
        r = self.k.send("const weights = [1, 2, 3];\nlet epoch = 7;\nawait new Promise((r) => setTimeout(r, 600000));\nconst neverReached = 1;")
        time.sleep(1.0)
        self.k.interrupt()
        self.k.wait(r, timeout=GRACE_MS / 1000 + 20)
        self.assertEqual(r.content.get("ename"), "InterruptedError")
        self.assertEqual(self.k.execute("weights.length + epoch").result_text(), "10")
        self.assertEqual(self.k.execute("typeof neverReached").status, "error", "an unreached name is not declared")


class Item5RunAllWithAnExpectedError(KernelTestCase):
    def test_queued_cells_run_one_at_a_time_each_between_busy_and_idle(self) -> None:
        cells = [
            ("await new Promise((r) => setTimeout(r, 300));", True),
            ('throw new Error("expected");', False),
            ("await new Promise((r) => setTimeout(r, 300));", True),
            ("console.log('last')", True),
        ]
        sent = [self.k.send(code, stop_on_error=stop) for code, stop in cells]
        for r in sent:
            self.k.wait(r)
        self.assertEqual([r.status for r in sent], ["ok", "error", "ok", "ok"])
        # On IOPub: busy(1) ... idle(1) busy(2) ... idle(2) ... - never two requests in flight, so a front end
        # shows Busy until the last queued cell is done.
        order = [(m["content"]["execution_state"], m["parent_header"]["msg_id"]) for m in self.k.iopub_log
                 if m["msg_type"] == "status" and m["parent_header"].get("msg_id") in {r.msg_id for r in sent}]
        self.assertEqual(order, [(s, r.msg_id) for r in sent for s in ("busy", "idle")])
        counts = [r.of_type("execute_input")[0]["execution_count"] for r in sent]
        self.assertEqual(counts, list(range(counts[0], counts[0] + 4)))


class Item6ProtocolDetails(KernelTestCase):
    def test_execute_input_and_execute_result(self) -> None:
        r = self.k.execute("1 + 2")
        n = r.content["execution_count"]
        self.assertEqual(r.of_type("execute_input"), [{"code": "1 + 2", "execution_count": n}])
        self.assertEqual(r.of_type("execute_result"), [{"execution_count": n, "data": {"text/plain": "3"}, "metadata": {}}])
        self.assertEqual(r.stream(), "", "the value is an execute_result, not stdout text")

    def test_a_value_that_displayed_itself_gets_no_execute_result(self) -> None:
        # lib/viz marks charts and tables it has shown with Symbol.for("nlu-course.displayed").
        r = self.k.execute('({ [Symbol.for("nlu-course.displayed")]: true, text: "[line chart]" })')
        self.assertOk(r)
        self.assertEqual(r.outputs[1:], [], "no Out[n] under a chart")  # [0] is execute_input
        self.assertEqual(self.k.execute('({ text: "plain" })').result_text(), "{ text: 'plain' }")

    def test_a_local_module_named_like_a_builtin_can_import_the_builtin(self) -> None:
        r = self.k.execute('import { notFound } from "./modules/http";\nnotFound', timeout=120)
        self.assertOk(r)
        self.assertEqual(r.result_text(), "'Not Found'")

    def test_kernel_info_reply(self) -> None:
        c = self.k.request("kernel_info")["content"]
        self.assertEqual(c["status"], "ok")
        self.assertEqual(c["language_info"]["name"], "typescript")
        self.assertEqual(c["language_info"]["version"], ts_version())

    def test_comm_info_and_history_replies(self) -> None:
        reply = self.k.request("comm_info")
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"], {"status": "ok", "comms": {}})
        last = self.k.execute("console.log('last cell')")
        h = self.k.request("history", hist_access_type="tail", n=5, output=False, raw=True)
        self.assertEqual(h["msg_type"], "history_reply")
        self.assertEqual(h["content"]["status"], "ok")
        self.assertEqual(h["content"]["history"][-1][2], "console.log('last cell')")
        self.k.drain(0.3)
        self.assertEqual(last.stream(), "last cell\n", "nothing printed into the last cell")
        self.assertEqual(last.stream("stderr"), "")

    def test_silent_publishes_nothing_and_keeps_the_count(self) -> None:
        before = self.k.execute("1").content["execution_count"]
        s = self.k.execute("console.log('hidden'); 5", silent=True)
        self.assertOk(s)
        self.assertEqual(s.outputs, [])
        after = self.k.execute("2")
        self.assertEqual(after.content["execution_count"], before + 1)

    def test_user_expressions(self) -> None:
        r = self.k.execute("const base = 40;", user_expressions={"answer": "base + 2", "bad": "nope.x"})
        ue = r.content["user_expressions"]
        self.assertEqual(ue["answer"], {"status": "ok", "data": {"text/plain": "42"}, "metadata": {}})
        self.assertEqual(ue["bad"]["status"], "error")

    def test_is_complete(self) -> None:
        def status(code: str) -> str:
            return self.k.request("is_complete", code)["content"]["status"]

        self.assertEqual(status("const x = 1;"), "complete")
        self.assertEqual(status("const s = `unclosed template"), "incomplete")
        self.assertEqual(status("function f() {"), "incomplete")
        self.assertEqual(status("const = 5;"), "invalid")

    def test_nbclient_records_execution_counts(self) -> None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in ("const a = 1;", "a + 1", "console.log(a)")]
        NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=60, resources={"metadata": {"path": str(FIXTURES)}}).execute()
        self.assertEqual([c.execution_count for c in nb.cells], [1, 2, 3])
        self.assertEqual(nb.cells[1].outputs[0]["output_type"], "execute_result")


class Item7Shutdown(unittest.TestCase):
    def test_shutdown_after_a_cell_replies_and_exits(self) -> None:
        k = Session()
        try:
            k.execute("console.log('one cell')")
            proc = k.km.provisioner.process
            t0 = time.monotonic()
            msg_id = k.kc.shutdown()
            reply = k.kc.get_control_msg(timeout=10)
            self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
            self.assertEqual(reply["msg_type"], "shutdown_reply")
            self.assertEqual(reply["content"]["status"], "ok")
            code = proc.wait(timeout=5)
            self.assertEqual(code, 0, "the kernel exited by itself, not by a signal")
            self.assertLess(time.monotonic() - t0, 2.0)
        finally:
            k.close()


class Item9NoOutputIsDropped(KernelTestCase):
    def test_thousands_of_outputs_arrive_while_the_front_end_is_slow(self) -> None:
        # A subscriber that reads nothing until the cell is done: zeromq's default high-water mark (1,000) made
        # the kernel drop messages here.
        info = self.k.km.get_connection_info(session=False)
        ctx = zmq.Context()
        self.addCleanup(ctx.term)
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"{info['transport']}://{info['ip']}:{info['iopub_port']}")
        self.addCleanup(sub.close, 0)
        time.sleep(0.5)  # let the subscription reach the kernel
        r = self.k.execute(
            'import { display } from "tslab";\n'
            "for (let i = 0; i < 3000; i++) console.log(`line ${i}`);\n"
            "for (let i = 0; i < 2500; i++) display.html(`<b>${i}</b>`);",
            timeout=120,
        )
        self.assertOk(r)
        session = ZmqSession(key=info["key"] if isinstance(info["key"], bytes) else info["key"].encode())
        lines, displays = 0, 0
        while sub.poll(2000):
            frames = sub.recv_multipart()
            _, parts = session.feed_identities(frames)
            msg = session.deserialize(parts)
            if msg["parent_header"].get("msg_id") != r.msg_id:
                continue
            if msg["msg_type"] == "stream":
                lines += msg["content"]["text"].count("\n")
            elif msg["msg_type"] == "display_data":
                displays += 1
        self.assertEqual((lines, displays), (3000, 2500))


class Item10EveryPageGetsThePlotlyBundle(KernelTestCase):
    """A reloaded browser tab (or a second tab) is a new page without Plotly: its kernel connection has a new client
    session id, and the first chart it asks for must carry the bundle again (it was sent once per kernel before)."""

    CHART = 'import { lineChart } from "../../lib/viz/plot";\nlineChart({ series: [{ name: "loss", y: [3, 2, 1] }] });'

    def bundles(self) -> int:
        r = self.k.execute(self.CHART, timeout=120)
        self.assertOk(r)
        htmls = [d["data"].get("text/html", "") for d in r.of_type("display_data")]
        self.assertTrue(any("nlu-plot" in h for h in htmls), f"no chart in {len(htmls)} outputs")
        return sum("data-nlu-plotly-bundle" in h for h in htmls)

    def test_a_new_client_session_gets_the_bundle_once_and_the_old_one_keeps_it(self) -> None:
        client = self.k.kc.session
        first_page = client.session
        self.bundles()  # whatever earlier tests sent to this page
        self.assertEqual(self.bundles(), 0, "the same page is not sent the bundle twice")
        client.session = str(uuid.uuid4())  # the page reloads: JupyterLab opens a new kernel connection
        try:
            self.assertEqual(self.bundles(), 1, "the reloaded page gets the bundle with its first chart")
            self.assertEqual(self.bundles(), 0)
        finally:
            client.session = first_page
        self.assertEqual(self.bundles(), 0, "the first page still has it")


if __name__ == "__main__":
    unittest.main()
