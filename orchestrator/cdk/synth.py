"""``orchestrator synth``: the project's CloudFormation templates, written without an AWS account.

The stacks are built in this process (no CDK CLI, no network): the same app the CDK CLI runs for
``orchestrator deploy`` (:func:`orchestrator.cdk.app.from_context`), environment-agnostic unless
``CDK_DEFAULT_ACCOUNT`` and ``CDK_DEFAULT_REGION`` are set. ``out`` becomes a cloud assembly
(templates, the Lambda code asset, ``manifest.json``) that ``cdk deploy --app DIR`` can also take.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

# jsii prints a banner for Node versions past their end of life; the synthesized output is the same.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from orchestrator.cdk.app import from_context  # noqa: E402


def synthesize(
    paths: Sequence[str | Path] = (),
    out: str | Path = "cdk.out",
    *,
    project_root: str | Path | None = None,
    context: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the stacks of the workflows in ``paths`` (default: every workflow under
    ``state_machines/`` of ``project_root``, the working directory by default) to ``out``; the
    template files, network stack first.

    ``context`` takes the keys of :func:`orchestrator.cdk.app.from_context` (``vpc_id``,
    ``tracing``...).

        templates = synthesize(["state_machines/nightly_sales.py"], "build/cdk")
    """
    root = Path(project_root or Path.cwd()).resolve()
    values: dict[str, str] = dict(context or {})
    if paths:
        values["workflows"] = ",".join(str(Path(p).resolve()) for p in paths)
    app = cdk.App(outdir=str(out), context=values)
    from_context(app, root)
    assembly = app.synth()
    return [Path(assembly.directory) / stack.template_file for stack in assembly.stacks]
