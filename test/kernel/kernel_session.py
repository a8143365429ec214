"""A Jupyter client session against the course's TypeScript kernel, for the protocol tests in this folder.

The kernel is found the way the course finds it: the kernelspec named "tslab" on JUPYTER_PATH (npm run
test:kernel points JUPYTER_PATH at .venv/share/jupyter). To run these tests against another build of the kernel
(e.g. stock tslab, to see them fail), point JUPYTER_PATH at a folder with a different kernels/tslab/kernel.json.

The kernel runs with its working directory in test/fixtures/, so cells import the course library as
"../../lib/..." and test helpers as "../helpers/...", as notebooks do from notebooks/.
"""

from __future__ import annotations

import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
KERNEL_NAME = os.environ.get("NLU_TEST_KERNEL_NAME", "tslab")


@dataclass
class Result:
    msg_id: str
    reply: dict | None = None
    outputs: list[dict] = field(default_factory=list)  # IOPub messages between busy and idle, statuses excluded
    statuses: list[str] = field(default_factory=list)
    done: bool = False  # idle seen

    @property
    def content(self) -> dict:
        return self.reply["content"] if self.reply else {}

    @property
    def status(self) -> str | None:
        return self.content.get("status")

    def of_type(self, msg_type: str) -> list[dict]:
        return [m["content"] for m in self.outputs if m["msg_type"] == msg_type]

    def stream(self, name: str = "stdout") -> str:
        return "".join(c["text"] for c in self.of_type("stream") if c["name"] == name)

    def result_text(self) -> str | None:
        results = self.of_type("execute_result")
        return results[-1]["data"]["text/plain"] if results else None


class Session:
    """One kernel; execute requests may overlap (send several, then wait for each)."""

    def __init__(self, env: dict | None = None, cwd: Path = FIXTURES):
        self.km = KernelManager(kernel_name=KERNEL_NAME)
        kernel_env = {**os.environ, "NLU_MODE": "quick", **(env or {})}
        self.km.start_kernel(cwd=str(cwd), env=kernel_env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.results: dict[str, Result] = {}
        self.iopub_log: list[dict] = []  # every IOPub message, in arrival order

    # -------------------------------------------------------------------------------------- plumbing
    def _track(self, msg_id: str) -> Result:
        r = Result(msg_id)
        self.results[msg_id] = r
        return r

    def _pump(self, timeout: float) -> bool:
        """Read one message from shell or IOPub into its Result. False when nothing came within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = False
            try:
                msg = self.kc.get_shell_msg(timeout=0.02)
                got = True
                r = self.results.get(msg["parent_header"].get("msg_id"))
                if r is not None:
                    r.reply = msg
            except queue.Empty:
                pass
            try:
                msg = self.kc.get_iopub_msg(timeout=0.02)
                got = True
                self.iopub_log.append(msg)
                r = self.results.get(msg["parent_header"].get("msg_id"))
                if r is not None:
                    if msg["msg_type"] == "status":
                        state = msg["content"]["execution_state"]
                        r.statuses.append(state)
                        if state == "idle":
                            r.done = True
                    else:
                        r.outputs.append(msg)
            except queue.Empty:
                pass
            if got:
                return True
        return False

    # -------------------------------------------------------------------------------------- requests
    def send(self, code: str, **kwargs) -> Result:
        kwargs.setdefault("stop_on_error", True)
        return self._track(self.kc.execute(code, **kwargs))

    def wait(self, r: Result, timeout: float = 60, need_idle: bool = True) -> Result:
        deadline = time.monotonic() + timeout
        while not (r.reply is not None and (r.done or not need_idle)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {'reply' if r.reply is None else 'idle status'} within {timeout} s for {r.msg_id}")
            self._pump(0.1)
        return r

    def execute(self, code: str, timeout: float = 60, **kwargs) -> Result:
        return self.wait(self.send(code, **kwargs), timeout)

    def wait_output(self, r: Result, predicate, timeout: float = 30) -> None:
        """Until predicate(r) holds (e.g. some output arrived)."""
        deadline = time.monotonic() + timeout
        while not predicate(r):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s; outputs so far: {r.outputs[-3:]}")
            self._pump(0.1)

    def drain(self, seconds: float) -> None:
        """Read whatever arrives for this long (late output of earlier cells lands in iopub_log)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(0.05)

    def request(self, method: str, *args, timeout: float = 30, **kwargs) -> dict:
        """A non-execute shell request (kernel_info, history, comm_info, is_complete, ...): its reply."""
        r = self._track(getattr(self.kc, method)(*args, **kwargs))
        return self.wait(r, timeout).reply

    def interrupt(self) -> None:
        self.km.interrupt_kernel()

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=True)
            else:
                self.km.cleanup_resources()
            # The manager's zmq context (else Python warns about it, later, in whatever test runs then).
            if not self.km.context.closed:
                self.km.context.destroy(linger=0)
