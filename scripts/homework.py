"""The course's homework commands on top of nbgrader: release an assignment, grade submissions.

Called by ./course release | grade with the project's .venv/bin/python (see README.md, "Homework"):

    ./course release hw_attention              # student version -> homework/release/hw_attention/ (+ a working copy
                                               #   in notebooks/homework/ for the course's JupyterLab, never overwritten)
    ./course grade SUBMISSION...               # .ipynb files or folders of them; prints points per task and the
                                               #   total, writes feedback HTML under homework/feedback/
    ./course grade --assignment hw_attention --student alice path/to/notebook.ipynb

nbgrader does the work (generate_assignment, autograde, generate_feedback) in the course folder homework/, whose
settings are homework/nbgrader_config.py. This script adds what a class needs around it: it finds which assignment
a notebook belongs to (by its cells' grade ids, so a renamed file still grades), files it as nbgrader expects
(submitted/<student>/<assignment>/), re-releases when a source notebook changed since the last release, and
reports in the notebook's own terms: points per "Task k", and for every test cell that lost points the error it
raised, a time-out, or a test cell the student edited (graded as released: nbgrader restores locked cells).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COURSE = ROOT / "homework"
# The course folder: homework/, or another one laid out the same way (--course DIR, env NLU_HOMEWORK_DIR; the
# tests grade in scratch copies). It must lie inside this checkout so that lib/ and node_modules/ resolve.
COURSE = Path(os.environ.get("NLU_HOMEWORK_DIR") or DEFAULT_COURSE).resolve()
VENV_BIN = Path(sys.executable).parent
STUDENT_COPIES = ROOT / "notebooks" / "homework"
STAMP_FILE = ".released.json"  # in the course folder: source sha256 per assignment at its last release (ignored)
TASK_HEADING = re.compile(r"^#{1,6}\s*(Task\s+\d+)\b[\s:.·—-]*(.*)$", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STUDENT_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def say(msg: str) -> None:
    print(msg, flush=True)


class Problem(Exception):
    """A mistake in how the command was used, or an input it cannot take: printed without a traceback."""


# ------------------------------------------------------------------------------------------------ assignments
def assignments() -> list[str]:
    src = COURSE / "source"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").exists()) if src.exists() else []


def source_notebook(assignment: str) -> Path:
    path = COURSE / "source" / assignment / f"{assignment}.ipynb"
    if not path.exists():
        raise Problem(f"no assignment '{assignment}': known ones are {', '.join(assignments()) or '(none)'} "
                      f"(homework/source/<name>/<name>.ipynb).")
    return path


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_ids(nb) -> set[str]:
    return {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade_id")}


@dataclass
class TestCell:
    grade_id: str
    task: str  # "Task 2" (or "Setup" before the first task heading)
    title: str
    points: float


def test_cells(nb) -> list[TestCell]:
    """The notebook's autograded test cells in order, each with the "Task k" heading it falls under."""
    task, title, out = "Setup", "", []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = TASK_HEADING.search(cell.source)
            if m:
                task, title = m.group(1), m.group(2).strip()
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            out.append(TestCell(meta["grade_id"], task, title, float(meta.get("points", 0))))
    return out


def run_nbgrader(args: list[str], log: Path | None = None, limit: float | None = None) -> tuple[int, str]:
    """nbgrader ARGS in homework/ (its config is there); output to `log` too. Returns (exit code, output)."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # it calls `alembic`
    env.setdefault("NLU_MODE", "quick")
    env.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    proc = subprocess.Popen([str(VENV_BIN / "nbgrader"), *args], cwd=COURSE, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # nbgrader and the kernel it started
        out, _ = proc.communicate()
        out += f"\n[homework] stopped after {limit:.0f} s (--max-minutes)\n"
        code = -9
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(out, encoding="utf-8")
    return code, out


def error_lines(out: str, n: int = 6) -> str:
    lines = [l.strip() for l in out.splitlines()
             if ("| ERROR]" in l and "Traceback" not in l) or re.match(r"\s*[\w.]*(Error|Exception): ", l)]
    return "\n".join(lines[-n:])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release(assignment: str, quiet: bool = False, copy: bool = True) -> Path:
    """nbgrader generate_assignment; returns the student notebook. Also a working copy for the course's JupyterLab."""
    src = source_notebook(assignment)
    code, out = run_nbgrader(["generate_assignment", assignment, "--force"], COURSE / "logs" / assignment / "release.log")
    released = COURSE / "release" / assignment / f"{assignment}.ipynb"
    if code != 0 or not released.exists():
        raise Problem(f"nbgrader generate_assignment {assignment} failed (log: {os.path.relpath(COURSE / 'logs' / assignment / 'release.log')}):\n"
                      + error_lines(out))
    text = released.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
        if marker in text:
            raise Problem(f"the released {assignment} still contains '{marker}': a region is not in a solution/test cell.")
    stamps = json.loads((COURSE / STAMP_FILE).read_text()) if (COURSE / STAMP_FILE).exists() else {}
    stamps[assignment] = sha256(src)
    (COURSE / STAMP_FILE).write_text(json.dumps(stamps, indent=1) + "\n")
    if not quiet:
        cells = test_cells(nbformat.read(src, as_version=4))
        say(f"released {assignment}: {os.path.relpath(released)} ({len(cells)} test cells, "
            f"{sum(c.points for c in cells):g} points)")
    if copy and COURSE == DEFAULT_COURSE:
        STUDENT_COPIES.mkdir(parents=True, exist_ok=True)
        mine = STUDENT_COPIES / f"{assignment}.ipynb"
        if mine.exists():
            if not quiet:
                say(f"  kept {os.path.relpath(mine)} (a working copy is there already; delete it to get a fresh one)")
        else:
            shutil.copyfile(released, mine)
            if not quiet:
                say(f"  working copy for the course's JupyterLab (./course start): {os.path.relpath(mine)}")
    return released


def ensure_released(assignment: str) -> None:
    """Release again when the source changed since the last release (or was never released): the gradebook holds
    the test cells that autograde restores, so it must match the source."""
    stamps = json.loads((COURSE / STAMP_FILE).read_text()) if (COURSE / STAMP_FILE).exists() else {}
    released = COURSE / "release" / assignment / f"{assignment}.ipynb"
    if stamps.get(assignment) != sha256(source_notebook(assignment)) or not released.exists() \
            or not (COURSE / "gradebook.db").exists():
        say(f"releasing {assignment} first (the source changed since the last release, or it was never released)")
        release(assignment, quiet=True, copy=False)


# ------------------------------------------------------------------------------------------------ grading
@dataclass
class CellResult:
    grade_id: str
    task: str
    points: float
    max_points: float
    why: str = ""  # why points were lost


@dataclass
class Graded:
    submission: str
    assignment: str = ""
    student: str = ""
    ok: bool = False
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feedback: str = ""
    error: str = ""

    def tasks(self) -> list[tuple[str, float, float]]:
        order: dict[str, list[float]] = {}
        for c in self.cells:
            order.setdefault(c.task, [0.0, 0.0])
            order[c.task][0] += c.points
            order[c.task][1] += c.max_points
        return [(t, p, m) for t, (p, m) in order.items()]


def find_notebooks(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.exists():
            found.append(p)
        else:
            raise Problem(f"{p} does not exist")
    if not found:
        raise Problem(f"no notebooks (.ipynb) under {', '.join(paths)}")
    return found


def which_assignment(nb, path: Path, wanted: str | None) -> str:
    known = assignments()
    if wanted:
        source_notebook(wanted)
        return wanted
    ids = grade_ids(nb)
    overlap = {a: len(ids & grade_ids(nbformat.read(source_notebook(a), as_version=4))) for a in known}
    best = max(overlap, key=overlap.get) if overlap else None
    if best and overlap[best] > 0:
        return best
    if path.stem in known:
        return path.stem
    raise Problem(f"{path}: cannot tell which assignment this is (no nbgrader cells of {', '.join(known)}); "
                  "pass --assignment NAME.")


def student_of(path: Path, assignment: str, given: str | None) -> str:
    raw = given or (path.parent.name if path.stem in (assignment, "submission") else path.stem)
    sid = STUDENT_ID.sub("_", raw).strip("._") or "student"
    if sid in ("lib", "."):
        sid = f"student_{sid.strip('.')}"
    return sid


HIDDEN = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS.*?END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


def check_locked_cells(submitted, released) -> list[str]:
    """Notes on read-only cells (tests, set-up) that the student edited, re-tagged or deleted, compared with the
    release (hidden-test regions, which only the instructor's copy has, are left out of the comparison). nbgrader
    grades edited ones as released (it restores locked cells by checksum); their tags are restored here; deleted
    ones are put back here, after the cell that preceded them in the release, because nbgrader's own re-insertion
    writes a Python comment."""
    shown = lambda cell: HIDDEN.sub("", cell.source).strip()
    notes = []
    for i, cell in enumerate(released.cells):
        meta = nbgrader_meta(cell)
        if not meta.get("locked"):
            continue
        gid = meta["grade_id"]
        kind = "test cell" if meta.get("grade") else "read-only cell"
        present = {nbgrader_meta(c).get("grade_id"): k for k, c in enumerate(submitted.cells)}
        if gid in present:
            mine = submitted.cells[present[gid]]
            if shown(mine) != shown(cell):
                notes.append(f"{kind} '{gid}' was edited; it was graded as released (nbgrader restores locked cells)")
            # Tags steer execution (nbclient skips a cell tagged skip-execution, and nbgrader would then score a test
            # cell that never ran as passed) and nbgrader does not restore them: put back the released ones.
            tags = list(cell.get("metadata", {}).get("tags", []))
            theirs = list(mine.get("metadata", {}).get("tags", []))
            if sorted(theirs) != sorted(tags):
                mine.setdefault("metadata", {})["tags"] = tags
                if not tags:
                    del mine["metadata"]["tags"]
                changed = ", ".join(sorted(set(theirs) ^ set(tags)))
                notes.append(f"{kind} '{gid}' had its tags changed ({changed}); it ran with the released ones")
            continue
        before = [nbgrader_meta(c).get("grade_id") for c in released.cells[:i]]
        at = max([present[b] + 1 for b in before if b in present], default=0)
        submitted.cells.insert(at, nbformat.from_dict(json.loads(json.dumps(cell))))
        notes.append(f"{kind} '{gid}' was deleted; it was put back as released and graded")
    return notes


def why_failed(cell) -> str:
    """What a test cell that lost points raised: its error (name: message), a time-out, or what it printed to
    stderr (a kernel that puts the message only there)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        return "timed out (no reply before the per-cell time limit: an endless loop?)"
    for o in errors:
        value = ANSI.sub("", o.get("evalue", "")).strip().splitlines()
        if value:
            return f"{ANSI.sub('', o.get('ename', 'Error'))}: {value[0]}"
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            lines = [l.strip() for l in ANSI.sub("", o.get("text", "")).splitlines() if l.strip()]
            lines = [l for l in lines if not l.startswith(("at ", "evalmachine.", "throw ", "^"))
                     and not re.match(r"^\S*:\d+$", l)]
            if lines:
                return lines[0][:300]
    if errors:
        return ANSI.sub("", errors[0].get("ename", "error"))
    return "lost points without an error message (see the feedback)"


def link_lib(step: str) -> None:
    """homework/<step>/lib -> ../lib, so notebooks in <step>/<student>/<assignment>/ import "../../lib/..."."""
    d = COURSE / step
    d.mkdir(parents=True, exist_ok=True)
    link = d / "lib"
    if not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(Path("..") / "lib")


def grade_one(path: Path, opts: argparse.Namespace) -> Graded:
    g = Graded(submission=str(path))
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # not JSON, not a notebook
        g.error = f"not a readable notebook ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
        return g
    try:
        g.assignment = which_assignment(nb, path, opts.assignment)
        g.student = student_of(path, g.assignment, opts.student)
        ensure_released(g.assignment)
    except Problem as e:
        g.error = str(e)
        return g
    a, s = g.assignment, g.student
    released = nbformat.read(COURSE / "release" / a / f"{a}.ipynb", as_version=4)
    g.notes += check_locked_cells(nb, released)  # puts deleted read-only cells back into nb

    # File it where nbgrader looks: submitted/<student>/<assignment>/<notebook>.ipynb
    for step in ("submitted", "autograded"):
        link_lib(step)
    dest = COURSE / "submitted" / s / a
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / f"{a}.ipynb")

    logs = COURSE / "logs" / a
    start = time.monotonic()
    code, out = run_nbgrader(["autograde", a, "--student", s, "--force"], logs / f"{s}.autograde.log",
                             limit=opts.max_minutes * 60)
    g.seconds = time.monotonic() - start
    graded = COURSE / "autograded" / s / a / f"{a}.ipynb"
    if code != 0 or not graded.exists():
        g.error = (f"nbgrader could not grade it (exit {code}; log: {os.path.relpath(logs / f'{s}.autograde.log')}):\n"
                   + (error_lines(out) or out.strip()[-600:]))
        if "KeyError: 'ename'" in out:
            g.error += ("\n  The kernel reported an error without ename/evalue/traceback, which nbgrader needs: "
                        "the course's kernel must report errors as Jupyter errors (issue 10).")
        return g

    code, out = run_nbgrader(["generate_feedback", a, "--student", s, "--force"], logs / f"{s}.feedback.log")
    feedback = COURSE / "feedback" / s / a / f"{a}.html"
    if code == 0 and feedback.exists():
        g.feedback = str(feedback)
    else:
        g.notes.append(f"no feedback HTML (nbgrader generate_feedback failed: {error_lines(out) or 'see the log'})")

    # Scores from the gradebook; the reasons from the graded notebook.
    from nbgrader.api import Gradebook

    executed = {nbgrader_meta(c).get("grade_id"): c for c in nbformat.read(graded, as_version=4).cells}
    tasks = {c.grade_id: c.task for c in test_cells(nbformat.read(source_notebook(a), as_version=4))}
    with Gradebook(f"sqlite:///{COURSE / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(a, a, s)
        for grade in sorted(sub.grades, key=lambda x: list(tasks).index(x.name) if x.name in tasks else 1e9):
            pts = float(grade.score or 0.0)
            cell = CellResult(grade.name, tasks.get(grade.name, "?"), pts, float(grade.max_score))
            if grade.needs_manual_grade:
                cell.why = "needs manual grading"
            elif pts < cell.max_points:
                cell.why = why_failed(executed.get(grade.name, {}))
            g.cells.append(cell)
    g.score = sum(c.points for c in g.cells)
    g.max_score = sum(c.max_points for c in g.cells)
    g.ok = True
    return g


def report(g: Graded) -> None:
    shown = os.path.relpath(g.submission)
    if not g.ok:
        say(f"\n{shown}: NOT GRADED\n  {g.error}")
        return
    say(f"\n{g.assignment} · {g.student}  ({shown}; graded in {g.seconds:.1f} s)")
    width = max([len(t) for t, _, _ in g.tasks()] + [5])
    for task, pts, mx in g.tasks():
        say(f"  {task:<{width}}  {pts:>5g} / {mx:g}")
        for c in g.cells:
            if c.task == task and c.why:
                say(f"  {'':<{width}}    {c.grade_id} ({c.points:g}/{c.max_points:g}): {c.why}")
    say(f"  {'total':<{width}}  {g.score:>5g} / {g.max_score:g}")
    for n in g.notes:
        say(f"  note: {n}")
    if g.feedback:
        say(f"  feedback: {os.path.relpath(g.feedback)}")


def main() -> int:
    ap = argparse.ArgumentParser(prog="./course", description="Homework commands (nbgrader).")
    ap.add_argument("--course", help="the course folder (default homework/; env NLU_HOMEWORK_DIR)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("release", help="release the student version of an assignment")
    r.add_argument("assignment", nargs="*", help=f"assignment name(s) (default: all)")
    gp = sub.add_parser("grade", help="autograde submissions and write feedback")
    gp.add_argument("paths", nargs="+", help="submitted notebooks, or folders of them")
    gp.add_argument("--assignment", help="the assignment (default: recognised from the notebook's cells)")
    gp.add_argument("--student", help="student id (default: the file name, or its folder when named like the assignment)")
    gp.add_argument("--timeout", type=float, help="seconds per cell before it is interrupted and scores 0 "
                                                  "(default 300, env NLU_GRADE_TIMEOUT)")
    gp.add_argument("--max-minutes", type=float, default=30.0, help="stop grading one submission after this long")
    gp.add_argument("--json", help="also write the results to this JSON file")
    sub.add_parser("list", help="list the assignments")
    opts = ap.parse_args()
    global COURSE
    if opts.course:
        COURSE = Path(opts.course).resolve()
    try:
        if not (COURSE / "nbgrader_config.py").exists():
            raise Problem(f"{COURSE} is not a course folder (no nbgrader_config.py)")
        if ROOT not in COURSE.parents:
            raise Problem(f"the course folder {COURSE} must lie inside {ROOT} (its notebooks import ../../lib)")
        if not (COURSE / "lib").exists():  # a scratch course folder: point its lib at the library
            (COURSE / "lib").symlink_to(os.path.relpath(ROOT / "lib", COURSE))
        if opts.cmd == "list":
            for a in assignments():
                cells = test_cells(nbformat.read(source_notebook(a), as_version=4))
                say(f"{a}: {len(cells)} test cells, {sum(c.points for c in cells):g} points")
            return 0
        if opts.cmd == "release":
            for a in opts.assignment or assignments():
                release(a)
            return 0
        if opts.timeout is not None:
            if not opts.timeout > 0:
                raise Problem(f"--timeout ({opts.timeout}) must be a positive number of seconds")
            os.environ["NLU_GRADE_TIMEOUT"] = str(int(round(opts.timeout)))
        if len(opts.paths) > 1 and opts.student:
            raise Problem("--student names one submission: grade one notebook at a time with it")
        notebooks = find_notebooks(opts.paths)
        if opts.student and len(notebooks) > 1:
            raise Problem(f"--student names one submission, but {len(notebooks)} notebooks were found")
        results = []
        for path in notebooks:
            g = grade_one(path, opts)
            report(g)
            results.append(g)
        if opts.json:
            Path(opts.json).write_text(json.dumps([asdict(g) for g in results], indent=1) + "\n")
        failed = [g for g in results if not g.ok]
        say(f"\nhomework: graded {len(results) - len(failed)} of {len(results)} submission(s)"
            + (f"; not graded: {', '.join(os.path.relpath(g.submission) for g in failed)}" if failed else ""))
        return 1 if failed else 0
    except Problem as e:
        print(f"homework: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
