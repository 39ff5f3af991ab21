"""``orchestrator init DIR``: a new project with a workflow, a Lambda handler and a test.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "demo"
    >>> sorted(p.name for p in scaffold(d))
    ['.gitignore', '__init__.py', 'handlers.py', 'test_workflow.py', 'workflow.py']
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.errors import OrchestratorError

WORKFLOW = '''"""The {name} workflow: a container job, then a short Python check.

Run it here:  orchestrator run workflow.py
Inspect it:   orchestrator show workflow.py
"""

from orchestrator import Workflow

wf = Workflow("{name}", schedule="cron(0 6 * * ? *)", notify=["you@example.com"])

extract = wf.batch(
    "extract",
    image="python:3.12-slim",
    command=["python3", "-c", "import json; json.dump({{'rows': 42}}, open('extract.json', 'w'))"],
    timeout="30m",
    retries=2,
)

check = wf.lambda_("check", handler="handlers:check", timeout="1m", after=[extract])
'''

HANDLERS = '''"""Lambda handlers of the {name} project; locally each runs in a worker process."""

import json
from typing import Any


def check(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fail the run when the extract produced no rows."""
    with open("extract.json") as f:
        rows = json.load(f)["rows"]
    if rows == 0:
        raise ValueError("the extract produced no rows")
    return {{"rows": rows}}
'''

TEST = '''"""Checks that run without AWS: the workflow validates and runs on the embedded engine."""

import os

from orchestrator import load


def test_workflow_loads() -> None:
    wf = load(os.path.join(os.path.dirname(__file__), "workflow.py"))
    assert [t.name for t in wf.tasks] == ["extract", "check"]
'''

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def scaffold(directory: Path, *, name: str | None = None) -> list[Path]:
    """Write the starter files into ``directory`` (created if needed); never overwrites a file."""
    wf_name = name or _NAME.sub("-", directory.resolve().name).strip("-") or "my-workflow"
    files = {
        "workflow.py": WORKFLOW.format(name=wf_name),
        "handlers.py": HANDLERS.format(name=wf_name),
        "test_workflow.py": TEST,
        "__init__.py": "",
        ".gitignore": ".orchestrator/\n__pycache__/\nextract.json\n",
    }
    existing = [f for f in files if (directory / f).exists()]
    if existing:
        raise OrchestratorError(
            f"{directory}: {', '.join(existing)} already exist; init never overwrites files. "
            "Choose an empty or new directory."
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in files.items():
        path = directory / filename
        path.write_text(text)
        written.append(path)
    return written
