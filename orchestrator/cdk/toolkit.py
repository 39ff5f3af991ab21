"""``orchestrator deploy``, ``diff`` and ``destroy``: the CDK CLI on the project's CDK app, through
``npx`` at a pinned major version, so nothing is installed globally.

Before the CLI starts, what is missing is named with the command that fixes it: Node.js (and npx),
aws-cdk-lib for the app, AWS credentials. What only AWS can tell (the account is not bootstrapped,
credentials are refused) is recognised in the CLI's output and said again as one line with the
fix. Nothing here imports aws_cdk (jsii would start Node.js) or calls AWS itself.

The app is the project's ``infra/app.py`` when it has one, else ``orchestrator.cdk.app`` run on
the project directory; either way with this Python interpreter.

    >>> cdk_command("diff", ["state_machines/etl_fanout.py"], {"tracing": "true"})[:4]
    ['npx', '--yes', 'aws-cdk@2', 'diff']
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from orchestrator.errors import OrchestratorError

# The CDK CLI's major version: the one aws-cdk-lib v2 apps are made for. A newer major may change
# the cloud assembly the CLI reads; within a major, the CLI reads what older libraries write.
CDK_CLI_MAJOR = 2
CDK_CLI = f"aws-cdk@{CDK_CLI_MAJOR}"
# The CDK CLI v2 runs on the Node.js releases still maintained; 18 is the oldest it accepts.
NODE_MIN_MAJOR = 18
NODE_FIX = "install Node.js 18 or later (https://nodejs.org/, or `sudo apt-get install nodejs npm`)"
CDK_LIB_FIX = "python3 -m pip install 'sfn-orchestrator[cdk]'"
CREDENTIALS_FIX = "set AWS_PROFILE (then `aws sso login` if it uses SSO) or run `aws configure`"
# Lines of the CLI's output kept to explain a failure (bounded: a deploy can print thousands).
TAIL_LINES = 200

Action = Literal["deploy", "diff", "destroy"]


class ToolkitError(OrchestratorError):
    """The CDK CLI cannot run, or it failed for a reason with a known fix."""

    def __init__(self, what: str, fix: str | None = None) -> None:
        self.what = what
        self.fix = fix
        super().__init__(what + (f"\n    fix: {fix}" if fix else ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """Where the CDK CLI runs and the ``--app`` command it runs there."""

    cwd: Path
    command: str


def stack_name(workflow: str) -> str:
    """A workflow's stack: CloudFormation stack names are letters, digits and hyphens, starting
    with a letter.

    >>> stack_name("nightly-sales")
    'orchestrator-nightly-sales'
    """
    return ("orchestrator-" + re.sub(r"[^A-Za-z0-9-]", "-", workflow))[:128]


def workflow_stacks(paths: Sequence[str | Path]) -> list[str]:
    """The stacks of the workflows in ``paths`` (their files are loaded, nothing is synthesized)."""
    from orchestrator.spec import load_all

    return [stack_name(wf.name) for path in paths for wf in load_all(path)]


def project_app(project_root: Path) -> App:
    """``infra/app.py`` of the project if there is one (its ``cdk.json`` and ``cdk.context.json``
    beside it), else the package's own app on the project directory."""
    python = shlex.quote(sys.executable)
    infra = project_root / "infra" / "app.py"
    if infra.is_file():
        return App(cwd=infra.parent, command=f"{python} app.py")
    return App(cwd=project_root, command=f"{python} -m orchestrator.cdk.app")


def cdk_command(
    action: Action,
    paths: Sequence[str | Path],
    context: Mapping[str, str] | None = None,
    *,
    app: str | None = None,
    stacks: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``npx`` command line for ``action`` on the workflows in ``paths`` (all of the project's
    when empty); ``stacks`` narrows it to those stacks (else ``--all``)."""
    command = ["npx", "--yes", CDK_CLI, action]
    if app is not None:
        command += ["--app", app]
    values = dict(context or {})
    if paths:
        values["workflows"] = ",".join(str(Path(p).resolve()) for p in paths)
    for key, value in values.items():
        command += ["--context", f"{key}={value}"]
    command += list(stacks) if stacks else ["--all"]
    return command + list(extra)


def _node_major(node: str) -> int | None:
    try:
        answer = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"v(\d+)\.", answer.stdout.strip())
    return int(found.group(1)) if found else None


def check_node(env: Mapping[str, str]) -> None:
    """Node.js and npx on ``PATH``, Node.js recent enough for the CDK CLI."""
    path = env.get("PATH", "")
    node = shutil.which("node", path=path)
    if node is None:
        raise ToolkitError("Node.js is not installed (or not on PATH): the CDK CLI runs on it", fix=NODE_FIX)
    if shutil.which("npx", path=path) is None:
        raise ToolkitError("npx is not on PATH (it comes with npm): the CDK CLI is run through it",
                           fix="install npm beside Node.js (`sudo apt-get install npm`)")
    major = _node_major(node)
    if major is not None and major < NODE_MIN_MAJOR:
        raise ToolkitError(f"Node.js {major} is too old for the CDK CLI (it needs {NODE_MIN_MAJOR} or later)",
                           fix=NODE_FIX)


def check_cdk_lib() -> None:
    """aws-cdk-lib importable by this interpreter: the app the CLI runs needs it."""
    import importlib.util

    if importlib.util.find_spec("aws_cdk") is None or importlib.util.find_spec("constructs") is None:
        raise ToolkitError("aws-cdk-lib is not installed for this Python: the project's CDK app needs it",
                           fix=CDK_LIB_FIX)


def check_credentials() -> None:
    """Some AWS credentials are configured (environment, profile, SSO, container or instance role).

    Only looked for, never used: botocore's provider chain is asked for them without a call to
    AWS. Whether AWS accepts them is for the CLI to find out. Without botocore the CLI looks
    for itself.
    """
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:
        return
    try:
        found = botocore.session.get_session().get_credentials()
    except botocore.exceptions.BotoCoreError as error:  # a broken profile, an unreadable config
        raise ToolkitError(f"the AWS credentials cannot be read: {error}", fix=CREDENTIALS_FIX) from None
    if found is None:
        raise ToolkitError("no AWS credentials found: the CDK CLI needs them to deploy, diff and destroy",
                           fix=CREDENTIALS_FIX)


# What the CDK CLI prints when AWS says no, and the one line that says what to do about it.
_BOOTSTRAP = re.compile(r"bootstrap stack version|Has the environment been bootstrapped|cdk bootstrap", re.I)
_ENVIRONMENT = re.compile(r"aws://(\d{12}|unknown-account)/([a-z0-9-]+)")
_NO_CREDENTIALS = re.compile(
    r"Unable to resolve AWS account|no credentials have been configured|"
    r"Could not load credentials|ExpiredToken|InvalidClientTokenId|security token included in the request is",
    re.I,
)
_NO_DOWNLOAD = re.compile(r"npm (?:ERR!|error) .*(?:ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|network)", re.I)


def explain(action: Action, code: int, tail: Sequence[str]) -> ToolkitError:
    """The error for a CLI run that exited with ``code``, from the last lines it printed.

    >>> str(explain("deploy", 1, ["SSM parameter /cdk-bootstrap/hnb659fds/version not found. "
    ...     "Has the environment been bootstrapped? Please run 'cdk bootstrap' (see https://docs.aws.amazon.com/cdk)",
    ...     "orchestrator-network: aws://123456789012/eu-west-1"]))
    'cdk deploy failed: the account and region are not bootstrapped for the CDK\\n    fix: npx --yes aws-cdk@2 bootstrap aws://123456789012/eu-west-1'
    """
    text = "\n".join(tail)
    if _BOOTSTRAP.search(text):
        found = _ENVIRONMENT.search(text)
        target = f"aws://{found.group(1)}/{found.group(2)}" if found and found.group(1) != "unknown-account" \
            else "aws://ACCOUNT/REGION"
        return ToolkitError(f"cdk {action} failed: the account and region are not bootstrapped for the CDK",
                            fix=f"npx --yes {CDK_CLI} bootstrap {target}")
    if _NO_CREDENTIALS.search(text):
        return ToolkitError(f"cdk {action} failed: AWS did not accept the credentials", fix=CREDENTIALS_FIX)
    if _NO_DOWNLOAD.search(text):
        return ToolkitError(f"npx could not download {CDK_CLI} (no network access to the npm registry)",
                            fix=f"connect to the network, or install it once: npm install -g {CDK_CLI}")
    return ToolkitError(f"cdk {action} failed (exit status {code}); its output is above")


def run(
    action: Action,
    paths: Sequence[str | Path] = (),
    *,
    project_root: str | Path | None = None,
    context: Mapping[str, str] | None = None,
    stacks: Sequence[str] = (),
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``cdk <action>`` on the project's app, its output passed through to ``out``; 0, or a
    :class:`ToolkitError` naming what went wrong and its fix."""
    environment = dict(os.environ if env is None else env)
    # jsii's banner for Node versions past end of life says nothing about the deployment.
    environment.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    check_node(environment)
    check_cdk_lib()
    check_credentials()
    root = Path(project_root or Path.cwd()).resolve()
    app = project_app(root)
    values = {"project_root": str(root), **(context or {})}
    command = cdk_command(action, paths, values, app=app.command, stacks=stacks, extra=extra)
    stream = out if out is not None else sys.stdout
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(command, cwd=app.cwd, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as error:
        raise ToolkitError(f"cannot start npx: {error}", fix=NODE_FIX) from None
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            stream.write(line)
            stream.flush()
            tail.append(line.rstrip("\n"))
    if process.returncode != 0:
        raise explain(action, process.returncode, list(tail))
    return 0


def destroy_stacks(paths: Sequence[str | Path]) -> list[str]:
    """What ``destroy PATH...`` removes: those workflows' stacks only, never the shared network
    (other workflows' jobs run in it); with no path, every stack of the project (``--all``)."""
    return workflow_stacks(paths) if paths else []
