# The hub image's Jupyter server settings (installed as /etc/jupyter/jupyter_server_config.py, docker-stacks' place
# for them). The course's own settings (TypeScript default kernel, Run All executor) stay in .venv/etc/jupyter/,
# written by scripts/setup.sh, which takes precedence over this file and never touches it.
import os

c = get_config()  # noqa: F821 (provided by traitlets)
course = os.environ.get("COURSE") or os.path.expanduser("~/nlu-course")

# Open the notebooks. nbgrader's "fetch" puts an assignment in <root>/<assignment>/, two folders below the course,
# where the homework's `import ... from "../../lib/..."` finds lib/ (homework/nbgrader_config.py).
c.ServerApp.root_dir = os.path.join(course, "notebooks")
# Every save keeps exactly one Plotly bundle before the first chart (scripts/plotly_bundle.py, on PYTHONPATH),
# as ./course start does.
c.ContentsManager.pre_save_hook = "plotly_bundle.pre_save_hook"
