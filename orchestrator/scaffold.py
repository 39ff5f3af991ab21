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
    command=["python3", "-c", "import json, os; "
             "json.dump({{'rows': 42}}, open(os.environ.get('EXTRACT_PATH', 'extract.json'), 'w'))"],
    timeout="30m",
    retries=2,
)

check = wf.lambda_("check", handler="handlers:check", timeout="1m", after=[extract])
'''

HANDLERS = '''"""Lambda handlers of the {name} project; locally each runs in a worker process."""

import json
import os
from typing import Any


def check(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fail the run when the extract produced no rows."""
    with open(os.environ.get("EXTRACT_PATH", "extract.json")) as f:
        rows = json.load(f)["rows"]
    if rows == 0:
        raise ValueError("the extract produced no rows")
    return {{"rows": rows}}
'''

TEST = '''"""The workflow run for real on the embedded engine, in virtual time, with no AWS account.

The fixtures (workflow_run, sfn_client) come with sfn-orchestrator; run these with `pytest` in
this directory.
"""

import json
from pathlib import Path

import pytest

from orchestrator.testing import fails, returns

WORKFLOW = Path(__file__).with_name("workflow.py")


@pytest.fixture(autouse=True)
def extract_output(tmp_path, monkeypatch):
    """What the (mocked) extract job would have written, where the check reads it."""
    path = tmp_path / "extract.json"
    path.write_text(json.dumps({{"rows": 42}}))
    monkeypatch.setenv("EXTRACT_PATH", str(path))
    return path


def test_runs_end_to_end_with_the_container_job_mocked(workflow_run):
    run = workflow_run(WORKFLOW, mocks={{"extract": returns()}})
    run.assert_succeeded()
    assert run.ran == ["extract", "check"]
    assert run.task("check").attempts[-1].output["Payload"] == {{"rows": 42}}


def test_a_failing_task_alerts_and_the_alert_names_it(workflow_run, extract_output):
    extract_output.write_text(json.dumps({{"rows": 0}}))
    run = workflow_run(WORKFLOW, mocks={{"extract": returns()}})
    assert run.status == "FAILED"
    assert run.alert.subject == "{name} failed at check: ValueError: the extract produced no rows (attempt 1 of 1)"


def test_a_failed_extract_is_retried(workflow_run):
    run = workflow_run(WORKFLOW, mocks={{"extract": fails(exit_code=1, attempt=1)}})
    run.assert_succeeded()
    assert run.attempts("extract") == 2
'''

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def scaffold(directory: Path, *, name: str | None = None) -> list[Path]:
    """Write the starter files into ``directory`` (created if needed); never overwrites a file."""
    wf_name = name or _NAME.sub("-", directory.resolve().name).strip("-") or "my-workflow"
    files = {
        "workflow.py": WORKFLOW.format(name=wf_name),
        "handlers.py": HANDLERS.format(name=wf_name),
        "test_workflow.py": TEST.format(name=wf_name),
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
