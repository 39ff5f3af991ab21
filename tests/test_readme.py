"""Every code block of README.md runs as written.

How each kind of block is checked:

* ``python``: executed for real, in order, each in a fresh interpreter whose working directory is
  a scratch copy of the project's examples (``state_machines/``, ``lambdas/``), so nothing is
  written into the repository. While a server session is open (below) its port stands in for
  the README's ``8083``, so a test run never collides with a server someone else runs.
* ``yaml``: validated for real by the spec loader, a fragment of workflow fields (``schedule:``)
  inside a minimal workflow; every Lambda handler a spec names must import.
* ``sh`` and ``text``: every command must parse with the real ``orchestrator`` argument parser
  and every repository path it names must exist. The quick, offline ones run for real:
  ``orchestrator show|validate|graph|compile``, ``orchestrator run`` with a mock config, and the
  ``orchestrator serve &`` … ``kill %1`` session around the API snippet. The rest is checked in
  that bounded way only: installing (``pip``: it would reinstall the shared environment), the
  test suite itself (``pytest``), whole example runs and backfills (real jobs; ``test_examples``
  runs them), ``synth``/``deploy``/``diff``/``destroy`` (the CDK CLI through npx, and an AWS
  account), and the scheduler session (a long-lived server).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.cli import build_parser
from orchestrator.local.lambda_bootstrap import load_handler
from orchestrator.spec import from_dict
from orchestrator.spec.loader import SpecLoader

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
README_PORT = "8083"
RUN_FOR_REAL = {"show", "validate", "graph", "compile"}
BLOCK_SECONDS = 120


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2) for m in FENCE.finditer(text)]


def commands(block: Block) -> list[tuple[list[str], bool]]:
    """``(argv, background)`` for each command of a shell block: continuations joined, comments
    dropped, ``a && b`` split, leading ``VAR=value`` kept in argv."""
    out: list[tuple[list[str], bool]] = []
    for line in block.text.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        while tokens:
            cut = next((i for i, t in enumerate(tokens) if t in ("&&", "&", ";")), len(tokens))
            if tokens[:cut]:
                out.append((tokens[:cut], cut < len(tokens) and tokens[cut] == "&"))
            tokens = tokens[cut + 1:]
    return out


def split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
        key, _, value = argv[0].partition("=")
        env[key] = value
        argv = argv[1:]
    return env, argv


def test_the_readme_has_each_kind_of_block() -> None:
    assert {b.lang for b in blocks()} >= {"python", "yaml", "sh"}
    assert "<<<<<<<" not in README.read_text(encoding="utf-8"), "README.md has merge conflict markers"


# -- sh and text: parsed, paths exist; the quick offline ones run ------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch project: the examples and handlers the snippets name, nothing else."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "state_machines", root / "state_machines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "lambdas", root / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def environment(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
            "ORCHESTRATOR_HOME": str(root / ".orchestrator"), "ORCHESTRATOR_CONTAINERS": "never",
            **(extra or {})}


def orchestrator(argv: list[str], root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *argv], cwd=root, env=environment(root, env),
                          capture_output=True, text=True, timeout=BLOCK_SECONDS)


SHELL = [b for b in blocks() if b.lang in ("sh", "text")]


@pytest.mark.parametrize("block", SHELL, ids=str)
def test_shell_block(block: Block, scratch: Path) -> None:
    parser = build_parser()
    for argv, _background in commands(block):
        env, argv = split_env(argv)
        program = argv[0]
        if program == "orchestrator":
            try:
                args = parser.parse_args(argv[1:])
            except SystemExit:
                pytest.fail(f"{block}: `{shlex.join(argv)}` does not parse")
            for token in argv[1:]:
                if token.startswith(("state_machines/", "infra/", "bench/", "tests/", "lambdas/")):
                    assert (ROOT / token).exists(), f"{block}: `{shlex.join(argv)}` names {token}, which does not exist"
            real = argv[1] in RUN_FOR_REAL or (argv[1] == "run" and getattr(args, "mock_config", None))
            if real:
                done = orchestrator(argv[1:], scratch, env)
                assert done.returncode == 0, f"{block}: `{shlex.join(argv)}` failed:\n{done.stdout}{done.stderr}"
        elif program in ("python", "python3"):
            if argv[1:3] == ["-m", "pip"]:
                extras = re.findall(r"\[(\w+)\]", " ".join(argv))
                optional = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
                assert all(re.search(rf"^{e} = \[", optional, re.M) for e in extras), f"{block}: unknown extra"
            elif argv[1:3] == ["-m", "pytest"]:
                assert (ROOT / "tests").is_dir()
            else:
                assert (ROOT / argv[1]).is_file(), f"{block}: {argv[1]} does not exist"
        else:
            assert program in ("until", "do", "done", "kill", "curl", "sleep", "grep"), (
                f"{block}: `{program}` is not a command this test knows how to check; teach it")


# -- yaml: validated ----------------------------------------------------------------------------

YAML = [b for b in blocks() if b.lang == "yaml"]
MINIMAL = {"name": "readme-fragment", "tasks": [{"name": "t", "batch": {"image": "alpine:3"}}]}


@pytest.mark.parametrize("block", YAML, ids=str)
def test_yaml_block(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    document = yaml.load(block.text, Loader=SpecLoader)  # noqa: S506 - the spec loader is a SafeLoader
    assert isinstance(document, dict), f"{block}: not a mapping"
    spec = document if "tasks" in document else {**MINIMAL, **document}
    wf = from_dict(spec, source=str(block))
    monkeypatch.syspath_prepend(str(ROOT))
    for task in wf.tasks:
        handler = getattr(task.job, "handler", None)
        if handler is not None:
            try:
                load_handler(handler)
            except (ImportError, AttributeError) as error:
                pytest.fail(f"{block}: handler {handler} does not import: {error}")


# -- python: executed, around the serve session ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(root: Path, argv: list[str]) -> Iterator[str]:
    """``orchestrator serve`` on a free port, up within a deadline; stopped with SIGTERM after."""
    port = str(free_port())
    process = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", *argv, "--port", port], cwd=root,
                               env=environment(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except OSError:
                assert process.poll() is None, f"orchestrator serve exited: {process.stderr.read() if process.stderr else ''}"
                assert time.monotonic() < deadline, "orchestrator serve did not answer within 60 s"
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_start(block: Block) -> list[str] | None:
    """The serve argv when ``block`` starts a server for the blocks after it (``orchestrator serve
    [PATH...] &`` then only a wait), else None."""
    found = commands(block)
    if block.lang == "sh" and found and found[0][1] and found[0][0][:2] == ["orchestrator", "serve"] \
            and all(argv[0] in ("until", "do", "done", "curl", "sleep") for argv, _ in found[1:]):
        return found[0][0][1:]
    return None


def test_python_blocks(scratch: Path) -> None:
    ran = 0
    with contextlib.ExitStack() as sessions:
        port: str | None = None
        for block in blocks():
            start = session_start(block)
            if start is not None:
                port = sessions.enter_context(server(scratch, start))
                continue
            if block.lang == "sh" and commands(block) == [(["kill", "%1"], False)]:
                sessions.close()
                port = None
                continue
            if block.lang != "python":
                continue
            code = block.text if port is None else block.text.replace(README_PORT, port)
            done = subprocess.run([sys.executable, "-c", code], cwd=scratch, env=environment(scratch),
                                  capture_output=True, text=True, timeout=BLOCK_SECONDS)
            assert done.returncode == 0, f"{block} failed:\n{done.stdout}{done.stderr}"
            ran += 1
    assert ran == sum(1 for b in blocks() if b.lang == "python")
