"""``infra/app.py`` as the cdk CLI runs it (a subprocess, context in CDK_CONTEXT_JSON), once; and
workflow discovery without synthesis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if shutil.which("node") is None:  # jsii runs aws-cdk-lib in Node.js
    pytest.skip("the CDK needs Node.js", allow_module_level=True)
pytest.importorskip("aws_cdk")

from orchestrator.cdk.app import discover, load_workflows, stack_name  # noqa: E402
from orchestrator.errors import SpecError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cdk.out")
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "CDK_CONTEXT_JSON": json.dumps({}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("CDK_DEFAULT_ACCOUNT", None)
    env.pop("CDK_DEFAULT_REGION", None)
    subprocess.run([sys.executable, "app.py"], cwd=ROOT / "infra", env=env, check=True, capture_output=True,
                   timeout=240)
    return out


def manifest(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "manifest.json").read_text()))


def test_default_glob_deploys_every_example_and_one_network(assembly: Path) -> None:
    stacks = sorted(k for k, v in manifest(assembly)["artifacts"].items() if v["type"] == "aws:cloudformation:stack")
    assert stacks == sorted([
        "orchestrator-network",
        stack_name("nightly-sales"),
        stack_name("etl-fanout"),
        stack_name("disk-hygiene"),  # the YAML workflows
        stack_name("daily-report"),
    ])


def test_workflow_stacks_depend_on_the_network(assembly: Path) -> None:
    artifacts = manifest(assembly)["artifacts"]
    assert "orchestrator-network" in artifacts[stack_name("etl-fanout")]["dependencies"]


def test_lambda_code_asset_leaves_out_data_tests_and_infra(assembly: Path) -> None:
    # The other directory assets are the job images built from state_machines/Dockerfile.
    (asset,) = [p for p in assembly.iterdir() if p.name.startswith("asset.") and p.is_dir()
                and not (p / "Dockerfile").exists()]
    top = {p.name for p in asset.iterdir()}
    assert {"orchestrator", "state_machines", "lambdas"} <= top
    assert not top & {"data", "tests", "infra", ".git", ".orchestrator", "bench"}
    assert not list(asset.rglob("*.asl.json"))
    assert not list(asset.rglob("__pycache__"))


def test_the_job_image_asset_is_the_dockerfile_and_the_job_code_only(assembly: Path) -> None:
    images = [p for p in assembly.iterdir() if p.name.startswith("asset.") and (p / "Dockerfile").exists()]
    assert images  # nightly-sales and etl-fanout build theirs from state_machines/Dockerfile
    for image in images:
        assert (image / "sales_jobs.py").exists()
        assert not list(image.rglob("*.asl.json")) and not list(image.rglob("__pycache__"))  # .dockerignore


def test_discovery_skips_helper_modules_but_not_named_files() -> None:
    files = discover(ROOT)
    assert ROOT / "state_machines" / "sales_jobs.py" in files
    assert ROOT / "state_machines" / "__init__.py" not in files
    names = [wf.name for wf in load_workflows(files, skip_empty=True)]
    assert sorted(names) == ["daily-report", "disk-hygiene", "etl-fanout", "nightly-sales"]
    with pytest.raises(SpecError, match="defines no workflow at module level"):
        load_workflows([ROOT / "state_machines" / "sales_jobs.py"], skip_empty=False)
