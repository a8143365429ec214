"""jupyter_kernel_test (the Jupyter project's kernel conformance suite) configured for the course's TypeScript
kernel. Every test the suite has for what a TypeScript kernel can do is configured; what stays skipped is not
applicable: pager payloads (`code_page_something`, an IPython feature), clear_output (tslab has no API for it)
and IOPub welcome messages (an optional XPUB feature).
"""

from __future__ import annotations

import os
import unittest

import jupyter_kernel_test

from kernel_session import FIXTURES, KERNEL_NAME


class TypeScriptKernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world");'
    code_stderr = 'console.error("this goes to stderr");'
    code_generate_error = 'throw new Error("this cell fails");'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": '"type" + "script"', "result": "'typescript'"},
        {"code": "[1, 2].map((x) => x * 10)", "result": "[ 10, 20 ]"},
    ]
    code_display_data = [
        {"code": 'import { display } from "tslab";\ndisplay.html("<b>bold</b>");', "mime": "text/html"},
        {"code": 'import { display } from "tslab";\ndisplay.markdown("*hi*");', "mime": "text/markdown"},
    ]
    completion_samples = [{"text": "Math.ab", "matches": {"abs"}}]
    complete_code_samples = ["1 + 1", "const x = 1;", "function f() { return 1; }", "const s = `a${1}b`;"]
    incomplete_code_samples = ["function f() {", "const s = `unclosed", "foo(1,", "/* comment"]
    invalid_code_samples = ["const = 5;", "1 +* 2", ")"]
    code_inspect_sample = "Math.max"
    code_history_pattern = "1 + *"
    supported_history_operations = ("tail", "range", "search")

    @classmethod
    def setUpClass(cls) -> None:
        # As the suite does, plus the course's working directory (cells import "../../lib/...").
        from jupyter_client.manager import start_new_kernel

        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=str(FIXTURES), env={**os.environ})


if __name__ == "__main__":
    unittest.main()
