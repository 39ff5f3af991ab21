"""``orchestrator deploy / diff / destroy`` through npx, driven as a user would (the CLI as a
subprocess), with Node.js, npx and AWS replaced by what each case needs: no node on PATH, no
credentials, an npx that says the account is not bootstrapped, or one that records how it was
called. Nothing here reaches AWS or the npm registry."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cdk.toolkit import CDK_CLI, cdk_command, explain, stack_name

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}
NO_AWS_CONFIG = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                 "AWS_EC2_METADATA_DISABLED": "true"}
BOOTSTRAP_MESSAGE = ("orchestrator-network: SSM parameter /cdk-bootstrap/hnb659fds/version not found. Has the "
                     "environment been bootstrapped? Please run 'cdk bootstrap' (see https://docs.aws.amazon.com/"
                     "cdk/latest/guide/bootstrapping.html)\n"
                     "orchestrator-network: deploying... [1/2] aws://123456789012/eu-west-1\n")


def fake_tools(directory: Path, *, node_version: str = "v20.11.1", npx_output: str = "", npx_status: int = 0) -> Path:
    """``node`` and ``npx`` stand-ins; npx records its argv and working directory in calls.json."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "node").write_text(f"#!/bin/sh\necho {node_version}\n")
    record = directory / "calls.json"
    (directory / "npx").write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(record)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'cwd': os.getcwd()}}) + '\\n')\n"
        f"sys.stdout.write({npx_output!r})\nsys.exit({npx_status})\n"
    )
    for tool in ("node", "npx"):
        (directory / tool).chmod(0o755)
    return directory


def calls(directory: Path) -> list[dict[str, object]]:
    path = directory / "calls.json"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def orchestrator(args: list[str], *, path: str, extra_env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(NO_AWS_CONFIG)
    env.update(extra_env or {})
    env["PATH"] = path
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_without_node_on_path_deploy_says_to_install_it(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = orchestrator(["deploy", "state_machines/etl_fanout.py"], path=str(empty), extra_env=FAKE_KEYS)
    assert done.returncode == 1
    assert done.stderr == (
        "error: Node.js is not installed (or not on PATH): the CDK CLI runs on it\n"
        "    fix: install Node.js 18 or later (https://nodejs.org/, or `sudo apt-get install nodejs npm`)\n"
    )


def test_an_old_node_is_named_with_its_version(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin", node_version="v16.20.2")
    done = orchestrator(["diff"], path=str(tools), extra_env=FAKE_KEYS)
    assert done.returncode == 1
    assert done.stderr.startswith("error: Node.js 16 is too old for the CDK CLI (it needs 18 or later)\n")
    assert calls(tools) == []


def test_node_without_npx_is_named(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin")
    (tools / "npx").unlink()
    done = orchestrator(["destroy"], path=str(tools), extra_env=FAKE_KEYS)
    assert done.stderr == ("error: npx is not on PATH (it comes with npm): the CDK CLI is run through it\n"
                           "    fix: install npm beside Node.js (`sudo apt-get install npm`)\n")


@pytest.mark.parametrize("action", ["deploy", "diff", "destroy"])
def test_without_credentials_nothing_runs_and_the_fix_is_named(tmp_path: Path, action: str) -> None:
    tools = fake_tools(tmp_path / "bin")
    done = orchestrator([action, "state_machines/etl_fanout.py"], path=str(tools))
    assert done.returncode == 1
    assert done.stderr == (
        "error: no AWS credentials found: the CDK CLI needs them to deploy, diff and destroy\n"
        "    fix: set AWS_PROFILE (then `aws sso login` if it uses SSO) or run `aws configure`\n"
    )
    assert calls(tools) == []


def test_an_account_that_is_not_bootstrapped_gets_the_bootstrap_command(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin", npx_output=BOOTSTRAP_MESSAGE, npx_status=1)
    done = orchestrator(["deploy", "state_machines/etl_fanout.py"], path=str(tools), extra_env=FAKE_KEYS)
    assert done.returncode == 1
    assert done.stdout == BOOTSTRAP_MESSAGE  # the CLI's own output is passed through
    assert done.stderr == ("error: cdk deploy failed: the account and region are not bootstrapped for the CDK\n"
                           f"    fix: npx --yes {CDK_CLI} bootstrap aws://123456789012/eu-west-1\n")


def test_deploy_runs_the_pinned_cli_on_the_project_app_for_the_given_workflows(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin", npx_output="done\n")
    done = orchestrator(["deploy", "state_machines/etl_fanout.py", "-c", "tracing=true", "--yes"],
                        path=str(tools), extra_env=FAKE_KEYS)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "done\n")
    (call,) = calls(tools)
    assert call["cwd"] == str(ROOT / "infra")
    assert call["argv"] == [
        "--yes", "aws-cdk@2", "deploy", "--app", f"{shlex.quote(sys.executable)} app.py",
        "--context", f"project_root={ROOT}", "--context", "tracing=true",
        "--context", f"workflows={ROOT / 'state_machines' / 'etl_fanout.py'}",
        "--all", "--require-approval", "never",
    ]


def test_a_project_without_infra_runs_the_packaged_app(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin")
    project = tmp_path / "project"
    project.mkdir()
    done = orchestrator(["diff"], path=str(tools), extra_env=FAKE_KEYS, cwd=project)
    assert done.returncode == 0, done.stderr
    (call,) = calls(tools)
    assert call["cwd"] == str(project)
    assert call["argv"][2:5] == ["diff", "--app", f"{shlex.quote(sys.executable)} -m orchestrator.cdk.app"]
    assert call["argv"][-1] == "--all"


def test_destroy_of_one_workflow_leaves_the_shared_network(tmp_path: Path) -> None:
    tools = fake_tools(tmp_path / "bin")
    done = orchestrator(["destroy", "state_machines/disk_hygiene.yaml", "--force"], path=str(tools),
                        extra_env=FAKE_KEYS)
    assert done.returncode == 0, done.stderr
    (call,) = calls(tools)
    assert call["argv"][-2:] == [stack_name("disk-hygiene"), "--force"]
    assert "--all" not in call["argv"] and "orchestrator-network" not in call["argv"]


def test_the_old_deploy_command_line_says_where_it_went(tmp_path: Path) -> None:
    done = orchestrator(["deploy", "state_machines/etl_fanout.py", "--role-arn", "arn:aws:iam::1:role/r"],
                        path=str(fake_tools(tmp_path / "bin")), extra_env=FAKE_KEYS)
    assert done.returncode == 1
    assert done.stderr == (
        "error: --role-arn and --substitutions belong to the boto3 path, which is now --state-machine-only "
        "(plain `orchestrator deploy` deploys the CDK stacks)\n"
        "    fix: orchestrator deploy --state-machine-only state_machines/etl_fanout.py --role-arn ROLE "
        "[--substitutions FILE]\n"
    )


def test_state_machine_only_needs_one_file_and_a_role(tmp_path: Path) -> None:
    done = orchestrator(["deploy", "--state-machine-only", "state_machines/etl_fanout.py"],
                        path=str(fake_tools(tmp_path / "bin")), extra_env=FAKE_KEYS)
    assert done.stderr == (
        "error: --state-machine-only deploys the state machines of one workflow file onto existing resources "
        "and needs their role\n"
        "    fix: orchestrator deploy --state-machine-only SPEC --role-arn ROLE [--substitutions FILE]\n"
    )


def test_bad_context_is_named(tmp_path: Path) -> None:
    done = orchestrator(["diff", "-c", "tracing"], path=str(fake_tools(tmp_path / "bin")), extra_env=FAKE_KEYS)
    assert done.stderr == "error: --context 'tracing' is not KEY=VALUE\n    fix: --context vpc_id=vpc-0123abcd\n"


# --- what a failure's output means ------------------------------------------------------------------


def test_refused_credentials_are_explained() -> None:
    error = explain("diff", 1, ["The security token included in the request is invalid."])
    assert str(error) == ("cdk diff failed: AWS did not accept the credentials\n"
                          "    fix: set AWS_PROFILE (then `aws sso login` if it uses SSO) or run `aws configure`")


def test_npx_offline_is_explained() -> None:
    error = explain("deploy", 1, ["npm error code ENOTFOUND", "npm error network request to https://x failed"])
    assert error.what == f"npx could not download {CDK_CLI} (no network access to the npm registry)"
    assert error.fix == f"connect to the network, or install it once: npm install -g {CDK_CLI}"


def test_an_unknown_failure_points_at_the_output() -> None:
    assert str(explain("destroy", 3, ["something else"])) == "cdk destroy failed (exit status 3); its output is above"


def test_bootstrap_without_an_environment_in_the_output_names_a_template() -> None:
    assert explain("deploy", 1, ["Has the environment been bootstrapped?"]).fix == (
        f"npx --yes {CDK_CLI} bootstrap aws://ACCOUNT/REGION")


def test_command_names_stacks_instead_of_all() -> None:
    assert cdk_command("destroy", [], stacks=["orchestrator-a"]) == ["npx", "--yes", CDK_CLI, "destroy",
                                                                     "orchestrator-a"]
