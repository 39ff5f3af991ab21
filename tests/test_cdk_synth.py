"""``orchestrator synth`` as a user runs it, and the documented example of a CDK app of one's own
(``infra/examples/own_app.py``), synthesized and put through both linters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if shutil.which("node") is None:  # jsii runs aws-cdk-lib in Node.js
    pytest.skip("the CDK needs Node.js", allow_module_level=True)
pytest.importorskip("aws_cdk")

from orchestrator.cli import main  # noqa: E402
from tests.test_cdk_lint import findings, run_checkov  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_synth_writes_the_templates_of_the_given_workflow(tmp_path: Path) -> None:
    out = tmp_path / "templates"
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "synth", "state_machines/disk_hygiene.yaml",
                           "--out", str(out)], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"wrote {out / 'orchestrator-network.template.json'}\n"
                           f"wrote {out / 'orchestrator-disk-hygiene.template.json'}\n")
    template = json.loads((out / "orchestrator-disk-hygiene.template.json").read_text())
    assert "AWS::StepFunctions::StateMachine" in {r["Type"] for r in template["Resources"].values()}


def test_synth_of_a_missing_file_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1 problem found\n")
    assert str(tmp_path / "missing.yaml") in err


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("own-app")
    subprocess.run([sys.executable, "infra/examples/own_app.py"], cwd=ROOT, env={**clean_env(), "CDK_OUTDIR": str(out)},
                   check=True, capture_output=True, timeout=600)
    return out


def test_own_app_example_builds_the_workflow_into_the_users_stack(own_app: Path) -> None:
    template = json.loads((own_app / "data-platform.template.json").read_text())
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds.count("AWS::EC2::VPC") == 1  # the user's, passed to the construct
    assert kinds.count("AWS::StepFunctions::StateMachine") == 1
    assert {r["Properties"]["RetentionInDays"] for r in template["Resources"].values()
            if r["Type"] == "AWS::Logs::LogGroup"} == {90}
    assert "SalesStateMachine" in template["Outputs"]


def test_own_app_example_passes_cfn_lint_and_checkov(own_app: Path) -> None:
    assert findings(own_app / "data-platform.template.json") == []
    report = run_checkov(own_app)
    assert report["results"]["failed_checks"] == []
