# nbgrader's configuration for the course's homework (https://nbgrader.readthedocs.io). The course folder is this
# directory, in nbgrader's layout: source/<assignment>/<assignment>.ipynb (committed: solutions + tests), and the
# generated release/, submitted/, autograded/, feedback/ and gradebook.db (git-ignored). Use it through
# ./course release | grade (scripts/homework.py), which run nbgrader with this folder as the working directory.
#
# The notebooks are TypeScript (the tslab kernel): solution regions are `// BEGIN SOLUTION` ... `// END SOLUTION`,
# hidden tests `// BEGIN HIDDEN TESTS` ... `// END HIDDEN TESTS` (nbgrader matches the words, so the `//` comment
# marker is simply kept on those lines), and a cleared solution becomes a stub that throws, so an unanswered task
# fails its checks instead of passing them by doing nothing.
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = here
c.CourseDirectory.course_id = "nlu-course"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
# homework/lib -> ../lib lets notebooks two folders down (source/<a>/, release/<a>/) import "../../lib/...";
# scripts/homework.py links submitted/lib and autograded/lib the same way for the per-student folders.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "lib"]

c.ClearSolutions.code_stub = {
    "typescript": '// YOUR CODE HERE\nthrow new Error("not implemented yet: replace this line with your code");',
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A test cell that runs longer than this (seconds) is interrupted and scores 0 (an endless loop must not hang the
# grader). ./course grade --timeout S overrides it (env NLU_GRADE_TIMEOUT).
c.Execute.timeout = int(os.environ.get("NLU_GRADE_TIMEOUT", "300"))
c.Execute.startup_timeout = 120
# Deleted read-only cells are put back by scripts/homework.py before autograding (nbgrader's own
# OverwriteCells.add_missing_cells prefixes the cell with a Python "#" comment, a syntax error in TypeScript).

# Feedback shows each test cell's result and error message, but not the hidden tests' code (an assignment can be
# given again next term).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
